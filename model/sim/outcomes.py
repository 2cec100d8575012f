"""Per-run outcomes computed from the paths of a run, over arrays with any leading batch shape.

Both drivers summarise with :func:`summarise`, so one run and a sweep of a million runs report the
same outcomes with the same definitions.

Regional burden ``r_t``: the countries' burdens averaged with fixed start-year GDP weights,
``r_t = sum_i gdp_i0 * b_it / sum_i gdp_i0``. Fixed weights keep the measure about countries'
choices: with current-GDP weights, China's faster growth at a lower-than-average burden would
lower the regional burden even when no country changes its own.

Escalation class (MODEL.md: stable / buildup / spiral), on ``r_t``, with ``w = max(1, min(5, T // 2))``
for a horizon of ``T`` simulated years:

* ``late = r_T / r_{T-w} - 1`` (growth over the last ``w`` years),
  ``early = r_{T-w} / r_{T-2w} - 1`` (the ``w`` years before), ``rise = r_T / r_0 - 1``;
* **spiral**: some country ends at its burden cap (having started below it), or the regional
  burden is still growing fast and not slowing: ``late > SPIRAL_LATE`` and ``late >= early``;
* **buildup**: not a spiral, and ``rise > BUILDUP_RISE`` (rose and is settling at a higher level);
* **stable**: everything else (settles near, or below, where it started).

Security-dilemma index: the share of countries that end the run both spending more (constant
US$) and feeling more threatened than at the start; above 0.5, most countries armed and ended up
less secure.
"""

from __future__ import annotations

import numpy as np

from model.sim.params import ALLIES

ESCALATION = ("stable", "buildup", "spiral")
SPIRAL_LATE = 0.05
"""Relative growth of the regional burden over the last w years above which a non-slowing rise is a spiral."""
BUILDUP_RISE = 0.05
"""Relative rise of the regional burden over the run above which a settling rise is a build-up."""
THRESHOLDS = {"2pct": 0.02, "3_5pct": 0.035, "5pct": 0.05}
"""Burden levels whose first crossing year is reported for each ally."""
CAP_TOLERANCE = 1e-9


def escalation_class(regional_burden: np.ndarray, burden: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Escalation class code (index into ESCALATION) per run.

    Args:
        regional_burden: (..., T+1) regional burden from the start year to the last year.
        burden: (..., T+1, N) burdens.
        cap: (..., N) burden caps.
    """
    r = regional_burden
    n_years = r.shape[-1] - 1
    if n_years < 1:  # nothing simulated yet
        return np.zeros(r.shape[:-1], dtype=int)
    w = max(1, min(5, n_years // 2))
    late = r[..., -1] / r[..., -1 - w] - 1
    early = r[..., -1 - w] / r[..., -1 - 2 * w] - 1 if n_years >= 2 * w else np.full_like(late, -np.inf)
    rise = r[..., -1] / r[..., 0] - 1
    at_cap = ((burden[..., -1, :] >= cap - CAP_TOLERANCE) & (burden[..., 0, :] < cap - CAP_TOLERANCE)).any(-1)
    spiral = at_cap | ((late > SPIRAL_LATE) & (late >= early))
    buildup = ~spiral & (rise > BUILDUP_RISE)
    return np.where(spiral, 2, np.where(buildup, 1, 0))


def crossing_year(years: np.ndarray, burden: np.ndarray, level: float) -> np.ndarray:
    """First year with burden >= level, per country; NaN if never. ``burden``: (..., T+1, N)."""
    above = burden >= level - 1e-12
    first = np.argmax(above, axis=-2)
    return np.where(above.any(axis=-2), years[first], np.nan)


def security_dilemma_index(spending: np.ndarray, threat: np.ndarray) -> np.ndarray:
    """Share of countries ending with higher spending and higher perceived threat than at the start."""
    worse = (spending[..., -1, :] > spending[..., 0, :]) & (threat[..., -1, :] > threat[..., 0, :])
    return worse.mean(axis=-1)


def summarise(years: np.ndarray, countries: tuple[str, ...], burden: np.ndarray, spending: np.ndarray,
              gdp: np.ndarray, threat: np.ndarray, cap: np.ndarray,
              allies: tuple[str, ...] = ALLIES) -> dict[str, np.ndarray]:
    """Outcomes of each run.

    Args:
        years: (T+1,) the start year and every simulated year.
        countries: the country codes along the last axis.
        burden, spending, gdp, threat: (..., T+1, N) paths.
        cap: (..., N) burden caps.

    Returns:
        Column name -> array of shape ``...``: ``escalation`` (class name), ``escalation_code``,
        ``regional_burden_start``/``_end`` (share, start-year GDP weights),
        ``regional_spending_growth`` (relative change
        over the run), ``security_dilemma_index`` (0-1), ``final_burden_<iso>`` and
        ``peak_burden_<iso>`` (share), and ``cross_<level>_<iso>`` (year) for each ally.
    """
    weights = gdp[..., :1, :] / gdp[..., :1, :].sum(-1, keepdims=True)
    regional = (weights * burden).sum(-1)
    code = escalation_class(regional, burden, cap)
    total = spending.sum(-1)
    out: dict[str, np.ndarray] = {
        "escalation": np.asarray(ESCALATION, dtype=object)[code],
        "escalation_code": code,
        "regional_burden_start": regional[..., 0],
        "regional_burden_end": regional[..., -1],
        "regional_spending_growth": total[..., -1] / total[..., 0] - 1,
        "security_dilemma_index": security_dilemma_index(spending, threat),
    }
    for i, iso in enumerate(countries):
        out[f"final_burden_{iso.lower()}"] = burden[..., -1, i]
        out[f"peak_burden_{iso.lower()}"] = burden[..., :, i].max(-1)
    for label, level in THRESHOLDS.items():
        cross = crossing_year(np.asarray(years), burden, level)
        for i, iso in enumerate(countries):
            if iso in allies:
                out[f"cross_{label}_{iso.lower()}"] = cross[..., i]
    return out
