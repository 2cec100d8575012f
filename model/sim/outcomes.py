"""Per-run outcomes computed from the paths of a run and of its matched counterfactual, over any batch shape.

Both drivers summarise with :func:`summarise`, so one run and a sweep of a million runs report the
same outcomes with the same definitions (docs/MODEL.md, "Outcomes"; the thresholds below are the
only copy of their values: the README quotes them and a test checks that it does so correctly).

**Counterfactual.** Every run is compared with its *matched counterfactual*: the same seed, yearly
shocks and coefficient draws under the base levers (in a sweep: the experiment's base scenario,
every varied parameter at its base value; for a single run: the baseline's levers,
:func:`model.sim.params.counterfactual`). Shocks therefore cancel in the difference, and what
remains is the effect of the levers. Without a counterfactual (hand-made paths) the start state
held constant stands in for it.

**Regional burden** ``r_t``: the countries' burdens averaged with fixed start-year GDP weights
(with current-GDP weights, China's faster growth at a lower burden would lower it with no country
changing anything). ``excess_t = r_t - r_cf_t`` (share of GDP); ``w = max(1, min(5, T // 2))``.

**Escalation class** (docs/MODEL.md: stable / buildup / spiral):

* **spiral** -- the region arms (``r_T > r_0``), the loop closes, and the excess keeps growing:
  ``excess_T - excess_{T-w}`` exceeds both :data:`SPIRAL_GROWTH` and the noise band (the spread of
  the same growth over the no-lever ensemble: :data:`NOISE_BAND_SD` standard deviations of
  ``r_T - r_{T-w}`` over counterfactual runs with other seeds; 0 without shocks) and is at least
  :data:`SPIRAL_PERSISTENCE` times the growth of the ``w`` years before (it is not settling, as a
  build-up converging to a higher level does); or some country ends at its cap where its
  counterfactual does not, with the regional excess above both :data:`BUILDUP_MARGIN` and the
  noise band (a cap reached by shocks alone is not a spiral). *The loop closes* when the linearised
  year-on-year map is unstable (stability radius > :data:`LOOP_RADIUS`: action-reaction feeds on
  itself) or the chain is measured: both the US alliance's and the rivals' GDP-weighted burdens
  end above their counterfactuals by more than :data:`BUILDUP_MARGIN` each and both are still
  rising against them;
* **buildup** -- not a spiral, and the regional burden ends above its counterfactual by more than
  :data:`BUILDUP_MARGIN`;
* **stable** -- everything else.

**Security-dilemma index**: the share of countries that end with a burden above their
counterfactual (by more than :data:`DILEMMA_BURDEN`) *and* a perceived threat above it (by more
than :data:`DILEMMA_THREAT`, relative): armed by the levers and less secure for it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from model.sim.params import ALLIES, LEADER, RIVALS

ESCALATION = ("stable", "buildup", "spiral")
BUILDUP_MARGIN = 0.001
"""Regional burden above the counterfactual at the end (share of GDP: 0.1 percentage point) for a build-up."""
SPIRAL_GROWTH = 0.0025
"""Least growth of the regional excess over the last w years (share of GDP: 0.25 pp, 0.05 pp a year) for a spiral."""
SPIRAL_PERSISTENCE = 0.75
"""The spiral's late growth must be at least this share of the growth of the window before (not settling)."""
NOISE_BAND_SD = 2.0
"""The spiral's growth must also exceed this many standard deviations of the no-lever ensemble's late growth."""
LOOP_RADIUS = 1.0
"""Stability radius above which the action-reaction loop amplifies (the loop gain exceeds 1)."""
DILEMMA_BURDEN = 1e-4
"""Burden above the counterfactual (share of GDP: 0.01 pp) counted in the security-dilemma index."""
DILEMMA_THREAT = 1e-3
"""Perceived threat above the counterfactual (relative: 0.1%) counted in the security-dilemma index."""
THRESHOLDS = {"2pct": 0.02, "3_5pct": 0.035, "5pct": 0.05}
"""Burden levels whose first crossing year is reported for each ally."""
CAP_TOLERANCE = 1e-9


class Counterfactual(NamedTuple):
    """Paths of the matched counterfactual runs, ``(..., T+1, N)`` each (see the module docstring)."""

    burden: np.ndarray
    threat: np.ndarray


def window(n_years: int) -> int:
    """Years of the 'late' window: ``max(1, min(5, T // 2))`` for ``T`` simulated years."""
    return max(1, min(5, n_years // 2))


def regional_burden(burden: np.ndarray, gdp: np.ndarray) -> np.ndarray:
    """Burdens averaged with the start-year GDP weights, ``(..., T+1)``."""
    weights = gdp[..., :1, :] / gdp[..., :1, :].sum(-1, keepdims=True)
    return (weights * burden).sum(-1)


def late_growth(series: np.ndarray) -> np.ndarray:
    """``x_T - x_{T-w}`` of a path ``(..., T+1)``."""
    n = series.shape[-1] - 1
    if n < 1:
        return np.zeros(series.shape[:-1])
    return series[..., -1] - series[..., -1 - window(n)]


def earlier_growth(series: np.ndarray) -> np.ndarray:
    """``x_{T-w} - x_{T-2w}`` of a path ``(..., T+1)``; -inf when the horizon is shorter than ``2w``."""
    n = series.shape[-1] - 1
    w = window(max(n, 1))
    if n < 2 * w:
        return np.full(series.shape[:-1], -np.inf)
    return series[..., -1 - w] - series[..., -1 - 2 * w]


def noise_band(burden: np.ndarray, gdp: np.ndarray) -> float:
    """The no-lever ensemble's spread: :data:`NOISE_BAND_SD` x the sd over runs of ``r_T - r_{T-w}``.

    Args:
        burden, gdp: ``(K, T+1, N)`` paths of counterfactual runs with different seeds.
    """
    growth = late_growth(regional_burden(burden, gdp))
    return float(NOISE_BAND_SD * np.std(growth)) if growth.size > 1 else 0.0


def escalation_class(burden: np.ndarray, gdp: np.ndarray, cap: np.ndarray, cf: Counterfactual,
                     radius: np.ndarray, band: float | np.ndarray, countries: tuple[str, ...]) -> np.ndarray:
    """Escalation class code (index into ESCALATION) per run (see the module docstring).

    Args:
        burden, gdp: (..., T+1, N) paths of the runs.
        cap: (..., N) burden caps.
        cf: the matched counterfactual paths.
        radius: (...) stability radius of the year-on-year map at the start state under the run's policies.
        band: noise band (share of GDP), scalar or (...).
        countries: country codes along the last axis.
    """
    r = regional_burden(burden, gdp)
    n_years = r.shape[-1] - 1
    if n_years < 1:  # nothing simulated yet
        return np.zeros(r.shape[:-1], dtype=int)
    excess = r - regional_burden(cf.burden, gdp)
    late = late_growth(excess)
    growing = (late > np.maximum(SPIRAL_GROWTH, band)) & (late >= SPIRAL_PERSISTENCE * earlier_growth(excess))
    up = r[..., -1] > r[..., 0]
    at_cap = burden[..., -1, :] >= cap - CAP_TOLERANCE
    cf_at_cap = cf.burden[..., -1, :] >= cap - CAP_TOLERANCE
    capped = (at_cap & ~cf_at_cap).any(-1) & (excess[..., -1] > np.maximum(BUILDUP_MARGIN, band))
    loop = (np.asarray(radius) > LOOP_RADIUS) | chain_closes(burden, gdp, cf, countries)
    spiral = up & loop & (growing | capped)
    buildup = ~spiral & (excess[..., -1] > BUILDUP_MARGIN)
    return np.where(spiral, 2, np.where(buildup, 1, 0))


def chain_closes(burden: np.ndarray, gdp: np.ndarray, cf: Counterfactual, countries: tuple[str, ...]) -> np.ndarray:
    """The measured action-reaction chain: both blocs end above their counterfactuals by more than
    :data:`BUILDUP_MARGIN` (share of GDP) each, and both are still rising against them."""
    out = np.ones(burden.shape[:-2], dtype=bool)
    for bloc in ((LEADER, *ALLIES), RIVALS):
        idx = [i for i, c in enumerate(countries) if c in bloc]
        if not idx:
            return np.zeros(burden.shape[:-2], dtype=bool)
        excess = regional_burden(burden[..., idx], gdp[..., idx]) - regional_burden(cf.burden[..., idx], gdp[..., idx])
        out &= (excess[..., -1] > BUILDUP_MARGIN) & (late_growth(excess) > 0)
    return out


def crossing_year(years: np.ndarray, burden: np.ndarray, level: float) -> np.ndarray:
    """First year with burden >= level, per country; NaN if never. ``burden``: (..., T+1, N)."""
    above = burden >= level - 1e-12
    first = np.argmax(above, axis=-2)
    return np.where(above.any(axis=-2), years[first], np.nan)


def security_dilemma_index(burden: np.ndarray, threat: np.ndarray, cf: Counterfactual) -> np.ndarray:
    """Share of countries ending with a burden and a perceived threat above their counterfactual."""
    armed = burden[..., -1, :] > cf.burden[..., -1, :] + DILEMMA_BURDEN
    scale = np.maximum(np.abs(cf.threat[..., -1, :]), 1e-12)
    insecure = (threat[..., -1, :] - cf.threat[..., -1, :]) / scale > DILEMMA_THREAT
    return (armed & insecure).mean(axis=-1)


def static_counterfactual(burden: np.ndarray, threat: np.ndarray) -> Counterfactual:
    """The start state held constant: the counterfactual of paths that come without one."""
    return Counterfactual(np.broadcast_to(burden[..., :1, :], burden.shape),
                          np.broadcast_to(threat[..., :1, :], threat.shape))


def summarise(years: np.ndarray, countries: tuple[str, ...], burden: np.ndarray, spending: np.ndarray,
              gdp: np.ndarray, threat: np.ndarray, cap: np.ndarray, cf: Counterfactual | None = None,
              radius: np.ndarray | float = 0.0, band: float | np.ndarray = 0.0,
              allies: tuple[str, ...] = ALLIES) -> dict[str, np.ndarray]:
    """Outcomes of each run.

    Args:
        years: (T+1,) the start year and every simulated year.
        countries: the country codes along the last axis.
        burden, spending, gdp, threat: (..., T+1, N) paths.
        cap: (..., N) burden caps.
        cf: the matched counterfactual (default: the start state held constant).
        radius: (...) stability radius of the year-on-year map at the start state under the run's
            policies (0: not computed).
        band: noise band of the no-lever ensemble (share of GDP).

    Returns:
        Column name -> array of shape ``...``: ``escalation`` (class name), ``escalation_code``,
        ``regional_burden_start``/``_end`` (share, start-year GDP weights), ``regional_excess_end``
        and ``regional_excess_growth`` (against the counterfactual, share of GDP; growth over the
        last w years), ``loop_closes`` (radius > 1 or the measured chain), ``regional_spending_growth``
        (relative change over the run), ``security_dilemma_index`` (0-1), ``final_burden_<iso>``
        and ``peak_burden_<iso>`` (share), ``cross_<level>_<iso>`` (year) for each ally, and
        ``stability_radius`` (``radius``).
    """
    cf = static_counterfactual(burden, threat) if cf is None else cf
    radius = np.broadcast_to(np.asarray(radius, dtype=float), burden.shape[:-2])
    regional = regional_burden(burden, gdp)
    excess = regional - regional_burden(cf.burden, gdp)
    code = escalation_class(burden, gdp, cap, cf, radius, band, countries)
    total = spending.sum(-1)
    out: dict[str, np.ndarray] = {
        "escalation": np.asarray(ESCALATION, dtype=object)[code],
        "escalation_code": code,
        "regional_burden_start": regional[..., 0],
        "regional_burden_end": regional[..., -1],
        "regional_excess_end": excess[..., -1],
        "regional_excess_growth": late_growth(excess),
        "loop_closes": (radius > LOOP_RADIUS) | chain_closes(burden, gdp, cf, countries),
        "regional_spending_growth": total[..., -1] / total[..., 0] - 1,
        "security_dilemma_index": security_dilemma_index(burden, threat, cf),
    }
    for i, iso in enumerate(countries):
        out[f"final_burden_{iso.lower()}"] = burden[..., -1, i]
        out[f"peak_burden_{iso.lower()}"] = burden[..., :, i].max(-1)
    for label, level in THRESHOLDS.items():
        cross = crossing_year(np.asarray(years), burden, level)
        for i, iso in enumerate(countries):
            if iso in allies:
                out[f"cross_{label}_{iso.lower()}"] = cross[..., i]
    out["stability_radius"] = radius
    return out
