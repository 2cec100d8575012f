"""Fit each country's response coefficients to the observed burden history (MODEL.md, Calibration).

Method: one-step-ahead least squares. For every year ``t`` of the training window and every
fitted country, the model's own year step (:func:`model.sim.dynamics.step`) is applied to the
*observed* state of all countries in ``t - 1``: observed burdens and GDP (SIPRI), capability by
perpetual inventory over the observed spending history (:func:`model.sim.data.initial_capability`),
and backlash accumulated along the observed burden path (:func:`model.sim.dynamics.update_backlash`).
The predicted burden is compared with the observed burden in ``t``. No equation is re-derived
here: the prediction *is* one model year started from the data.

A country's prediction depends only on its own coefficients (the others enter through their
observed state), so each country is fitted on its own with :func:`scipy.optimize.least_squares`
within the bounds declared in :func:`model.sim.params.specs`. The Jacobian is computed by finite
differences evaluated as one batch of parameter sets (``build_inputs(base, varied)``).

Fitted per country (:data:`FITTED`):

* ``baseline_burden`` -- the intercept of the desired burden in the reference year, with
  anchoring off (``anchor = false``), share of GDP;
* ``threat_sensitivity`` -- burden points per unit of perceived threat;
* ``adjustment_speed`` -- share of the gap to the desired burden closed per year (1/year);
* ``drift`` -- yearly drift of the desired burden (share of GDP per year).

Everything else in the decision rule (pressure response, fiscal drag and debt, backlash,
maximum change, caps, hostility and the alliance structure) keeps its documented default: with
about twenty yearly observations per country these are not separately identified (e.g. the
pressure response toward the 2% reference moves the same coefficient as the adjustment speed).

Choices that keep the fit honest:

* the reference year (where the drift is zero and the intercept is read) is the last training
  year, which is also the start year of the calibrated scenario, so a forward run from there
  uses exactly the fitted relation;
* legislated floors are switched off in the fit (they are future policy schedules; Japan's
  2%-by-FY2027 law dates from December 2022), and kept out of the calibrated scenario when the
  training window ends before the law was decided;
* a documented burden floor (cap) that the training data go below (above) is lowered (raised)
  to the observed extreme, and said so in the scenario file;
* GDP growth is the mean growth of SIPRI-implied GDP over the training years (no look-ahead);
* North Korea has no SIPRI series: it stays at the WMEAT 2004-2014 estimate (a constant state)
  and keeps its documented default coefficients; it is never fitted.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from model.errors import ParameterError
from model.sim import dynamics
from model.sim.data import PRK_BURDEN_ESTIMATE, PRK_GDP_ESTIMATE, history, initial_capability
from model.sim.inputs import build_inputs
from model.sim.params import NAMES, Params, country_param, specs

FITTED: tuple[str, ...] = ("baseline_burden", "threat_sensitivity", "adjustment_speed", "drift")
"""Per-country fields estimated from the history, in the order of the parameter vector."""
NOT_FITTED = ("PRK",)
"""Countries without an observed series: documented defaults, constant WMEAT state."""
DEFAULT_TRAIN = (1995, 2014)
JAPAN_FLOOR_DECIDED = 2022
"""Year Japan's 2%-by-FY2027 floor was decided (National Security Strategy, December 2022)."""
SPEED_STARTS = (0.1, 0.3, 0.7)
"""Starting adjustment speeds (1/year): the fit is bilinear in speed x desired gap, so several starts."""
SIG = 6
"""Significant digits kept for fitted values, so the scenario file and the in-memory set agree."""


# --- observed panel ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Panel:
    """Observed state of every country, one row per year.

    Attributes:
        countries: country codes (last axis of every array).
        years: ``(Y,)`` consecutive years.
        burden: ``(Y, N)`` share of GDP.
        gdp: ``(Y, N)`` US$ bn, constant 2023 prices.
        spending: ``(Y, N)`` US$ bn, constant 2023 prices.
        observed: ``(N,)`` True where the country has an observed series (False: constant estimate).
        spending_history: per country, (year of the first value, observed spending in US$ bn from
            then up to the last panel year, oldest first); a single value for an unobserved country.
    """

    countries: tuple[str, ...]
    years: np.ndarray
    burden: np.ndarray
    gdp: np.ndarray
    spending: np.ndarray
    observed: np.ndarray
    spending_history: tuple[tuple[int, np.ndarray], ...]

    def index(self, year: int) -> int:
        return int(year - self.years[0])

    def capability(self, depreciation: float) -> np.ndarray:
        """Capability stock ``(Y, N)``, US$ bn, by perpetual inventory up to each year.

        The same formula as the model's start state (:func:`model.sim.data.initial_capability`), so a
        panel year used as a start year gives the start capability the model would compute.
        """
        out = np.empty_like(self.burden)
        for j, (first, series) in enumerate(self.spending_history):
            for k, year in enumerate(self.years):
                upto = series[: int(year - first) + 1] if self.observed[j] else series
                out[k, j] = initial_capability(upto, depreciation)
        return out


def build_panel(countries: tuple[str, ...], first: int, last: int,
                hist: pd.DataFrame | None = None) -> Panel:
    """Observed panel of ``countries`` over ``first..last`` (inclusive).

    Args:
        countries: country codes.
        first, last: years (inclusive).
        hist: history table like :func:`model.sim.data.history` (default: the SIPRI data). A country
            absent from it must be North Korea, which gets the constant WMEAT estimate.

    Raises:
        ParameterError: a country has no data for some year of the window.
    """
    hist = history() if hist is None else hist
    years = np.arange(first, last + 1)
    burden, gdp, obs, spend_hist = [], [], [], []
    for iso in countries:
        rows = hist[hist["country"] == iso].set_index("year").sort_index()
        if rows.empty:
            if iso not in NOT_FITTED:
                raise ParameterError(f"The history has no data for {iso}. Got none for {first}-{last}.")
            burden.append(np.full(len(years), PRK_BURDEN_ESTIMATE))
            gdp.append(np.full(len(years), PRK_GDP_ESTIMATE))
            obs.append(False)
            # a single value standing for every year, as in model.sim.data.observed (stock s / d)
            spend_hist.append((int(first), np.array([PRK_BURDEN_ESTIMATE * PRK_GDP_ESTIMATE])))
            continue
        have = rows.index[rows.index <= last]
        lo = int(have.min()) if len(have) else None
        if lo is None or lo > first or len(have) != last - lo + 1:
            span = f"{int(rows.index.min())}-{int(rows.index.max())}"
            raise ParameterError(f"The training window must lie within the years with data for {iso} "
                                 f"({span}, no gaps; the window includes the year before the first "
                                 f"fitted year). Got {first}-{last} instead.")
        sel = rows.loc[first:last]
        burden.append(sel["burden"].to_numpy(float))
        gdp.append(sel["gdp"].to_numpy(float))
        obs.append(True)
        spend_hist.append((lo, rows.loc[lo:last, "spending"].to_numpy(float)))
    b, g = np.stack(burden, axis=-1), np.stack(gdp, axis=-1)
    return Panel(tuple(countries), years, b, g, b * g, np.array(obs), tuple(spend_hist))


# --- one-step-ahead predictions ----------------------------------------------------------------

def backlash_path(panel: Panel, gain: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """Backlash ``(..., Y, N)`` along the observed burden path, zero in the first panel year."""
    out = [np.zeros(np.broadcast_shapes(gain.shape, panel.burden[0].shape))]
    for k in range(1, len(panel.years)):
        out.append(dynamics.update_backlash(out[-1], panel.burden[k - 1], panel.burden[k], gain, decay))
    return np.stack(out, axis=-2)


def one_step(x, panel: Panel, years: np.ndarray, capability: np.ndarray) -> np.ndarray:
    """Burden predicted for each year from the observed state of the year before.

    Args:
        x: :class:`model.sim.inputs.Inputs` (batch shape ``()`` or ``(R,)``).
        panel: observed panel covering ``years - 1``.
        years: ``(T,)`` predicted years.
        capability: ``(Y, N)`` observed capability (US$ bn) of the panel years.

    Returns:
        ``(..., T, N)`` predicted burdens (share of GDP).
    """
    lash = backlash_path(panel, x.backlash_gain, x.backlash_decay)
    zeros = np.zeros_like(panel.burden[0])
    out = []
    for year in years:
        k = panel.index(year - 1)
        state = dynamics.State(panel.burden[k], panel.gdp[k], panel.spending[k], capability[k],
                               zeros, zeros, lash[..., k, :])
        out.append(dynamics.step(state, x, int(year), None).burden)
    return np.stack(np.broadcast_arrays(*out), axis=-2)


def free_run(x, panel: Panel, years: np.ndarray, capability: np.ndarray, j: int) -> np.ndarray:
    """Burden of country ``j`` simulated through ``years``, the other countries at their observed state.

    Country ``j`` starts from its observed state in ``years[0] - 1``; from then on its burden,
    spending (burden x observed GDP), capability (perpetual inventory of that spending) and
    backlash follow the model, while every other country follows the data. Errors therefore
    accumulate as in a forecast, which is what the backtest asks of the coefficients.

    Returns:
        ``(..., T)`` simulated burdens (share of GDP) of country ``j``.
    """
    k0 = panel.index(years[0] - 1)
    own = np.zeros(x.batch_shape + (len(panel.countries),))
    own[..., j] = 1.0
    burden = panel.burden[k0] + own * 0.0
    cap = capability[k0] + own * 0.0
    lash = np.zeros_like(burden)
    zeros = np.zeros_like(burden)
    out = []
    for year in years:
        k = panel.index(year - 1)
        state = dynamics.State(burden, panel.gdp[k] + zeros, burden * panel.gdp[k], cap, zeros, zeros, lash)
        new = dynamics.step(state, x, int(year), None).burden
        lash = dynamics.update_backlash(lash, burden, new, x.backlash_gain, x.backlash_decay)
        nxt = panel.index(year)
        own_cap = dynamics.accumulate(cap, new * panel.gdp[nxt], x.depreciation)
        burden = np.where(own > 0, new, panel.burden[nxt])
        cap = np.where(own > 0, own_cap, capability[nxt])
        out.append(new[..., j])
    return np.stack(out, axis=-1)


OBJECTIVES = ("one-step", "free-run")
"""Fit objectives: one-step-ahead prediction, or a free run of the country through the window."""


# --- the fit -----------------------------------------------------------------------------------

@dataclass
class Calibration:
    """A calibrated parameter set with its fit statistics.

    Attributes:
        params: the complete calibrated set (start year = reference year, anchor off).
        train: (first, last) fitted years.
        objective: the fit objective (see :data:`OBJECTIVES`).
        coefficients: one row per fitted country and field: ``value``, ``se`` (asymptotic standard
            error from the Jacobian of the objective, NaN if singular), ``default``, ``low``/``high``
            bounds, ``at_bound`` and ``identified`` (finite se smaller than the value).
        stats: one row per fitted country: ``n`` (observations), ``rmse_pp`` (one-step-ahead RMSE
            of the burden, percentage points of GDP), ``rmse_free_run_pp`` (RMSE of the country run
            freely through the window, others observed), ``rmse_persistence_pp`` (RMSE of "no
            change"), ``r2_level`` and ``r2_change`` (one-step R^2 of levels and of yearly
            changes), ``growth`` (1/year).
        predictions: ``year, country, observed, one_step, free_run`` (share of GDP).
        adjustments: parameter name -> (value, reason) for values set from the data that are
            not fitted coefficients (growth, floors, caps, legislated floors).
    """

    params: Params
    train: tuple[int, int]
    objective: str
    coefficients: pd.DataFrame
    stats: pd.DataFrame
    predictions: pd.DataFrame
    adjustments: dict[str, tuple[object, str]]

    @property
    def fitted_countries(self) -> tuple[str, ...]:
        return tuple(self.stats.index)


def _round(v: float) -> float:
    return float(f"{v:.{SIG}g}")


def training_growth(panel: Panel, first: int, last: int) -> dict[str, float]:
    """Mean yearly growth (1/year) of observed GDP from ``first`` to ``last``, per observed country."""
    a, b = panel.index(first), panel.index(last)
    out = {}
    for j, iso in enumerate(panel.countries):
        if panel.observed[j]:
            out[iso] = float((panel.gdp[b, j] / panel.gdp[a, j]) ** (1.0 / (last - first)) - 1.0)
    return out


def calibrate(base: Params | None = None, train: tuple[int, int] = DEFAULT_TRAIN,
              hist: pd.DataFrame | None = None, reference_year: int | None = None,
              countries: tuple[str, ...] | None = None, starts: tuple[float, ...] = SPEED_STARTS,
              objective: str = "one-step") -> Calibration:
    """Fit :data:`FITTED` for every country with an observed series.

    Args:
        base: parameter set supplying everything that is not fitted (default: the defaults).
        train: first and last fitted year; each is predicted from the year before, so the data
            must cover ``train[0] - 1`` to ``train[1]``.
        hist: history table (default :func:`model.sim.data.history`); tests pass simulated data.
        reference_year: year where the drift term is zero and the intercept is read (default:
            ``train[1]``); it becomes the start year of the calibrated set.
        countries: countries to fit (default: every country of ``base`` with a series, i.e. all
            but North Korea).
        starts: starting adjustment speeds (1/year); the best fit over the starts is kept.
        objective: "one-step" (each year predicted from the observed year before) or "free-run"
            (the country simulated through the window from its observed state the year before
            the window, the others observed; see :func:`free_run`).

    Returns:
        The calibration (see :class:`Calibration`).

    Raises:
        ParameterError: a window outside the data, or fewer observations than coefficients.
    """
    base = Params.from_kwargs() if base is None else base
    if objective not in OBJECTIVES:
        raise ParameterError(f"The '--objective' option must be one of {', '.join(OBJECTIVES)}. "
                             f"Got {objective!r} instead.")
    first, last = int(train[0]), int(train[1])
    ref = last if reference_year is None else int(reference_year)
    table = specs()
    if last - first + 1 <= len(FITTED):
        raise ParameterError(f"The training window (--train) must hold more than {len(FITTED)} years. "
                             f"Got {first}-{last} instead.")
    start_spec = table["start_year"]
    for label, y in (("first", first - 1), ("last", last), ("reference", ref)):
        if not start_spec.low <= y <= start_spec.high:
            raise ParameterError(f"The training window (--train) must lie within {start_spec.low + 1:g}-"
                                 f"{start_spec.high:g} (its {label} state year {y} is outside). "
                                 f"Got {first}-{last} instead.")
    all_c = base.countries
    panel = build_panel(all_c, min(first - 1, ref), max(last, ref), hist)
    fit_c = tuple(c for c in all_c if c not in NOT_FITTED and panel.observed[all_c.index(c)]
                  and (countries is None or c in countries))
    growth = training_growth(panel, first - 1, last)

    # data-driven settings that are not coefficients: each one is written to the scenario with its reason
    adjust: dict[str, tuple[object, str]] = {}
    window = slice(panel.index(first - 1), panel.index(last) + 1)
    for j, iso in enumerate(all_c):
        if not panel.observed[j]:
            continue
        lo_obs, hi_obs = float(panel.burden[window, j].min()), float(panel.burden[window, j].max())
        lo_name, hi_name = country_param("burden_floor", iso), country_param("burden_cap", iso)
        ref_b = float(panel.burden[panel.index(ref), j])
        lo_obs, hi_obs = min(lo_obs, ref_b), max(hi_obs, ref_b)
        if base[lo_name] > lo_obs:
            adjust[lo_name] = (_floor_round(lo_obs), f"documented floor {base[lo_name]:g} is above the "
                                                     f"lowest observed burden {lo_obs:.4f}")
        if base[hi_name] < hi_obs:
            adjust[hi_name] = (_ceil_round(hi_obs), f"documented cap {base[hi_name]:g} is below the "
                                                    f"highest observed burden {hi_obs:.4f}")
        adjust[country_param("growth", iso)] = (
            _round(growth[iso]), f"mean growth of SIPRI-implied GDP {first - 1}-{last}")
    for iso in all_c:
        name = country_param("floor_target", iso)
        if base[name] > 0 and (iso != "JPN" or ref < JAPAN_FLOOR_DECIDED):
            adjust[name] = (0.0, "legislated floor not yet decided in the reference year"
                            if iso == "JPN" else "legislated floor not part of the fitted history")

    fit_base = base.replace(**{
        "start_year": ref, "until": ref + 1, "anchor": False,
        **{k: v for k, (v, _) in adjust.items()},
        **{country_param("floor_target", c): 0.0 for c in all_c},
        **{country_param("initial_burden", c): float(panel.burden[panel.index(ref), j])
           for j, c in enumerate(all_c)}})
    capability = panel.capability(float(fit_base["depreciation"]))
    years = np.arange(first, last + 1)
    observed_b = panel.burden[panel.index(first):panel.index(last) + 1]
    previous_b = panel.burden[panel.index(first - 1):panel.index(last)]

    coef_rows, stat_rows, pred_rows, fitted = [], [], [], {}
    for iso in fit_c:
        j = all_c.index(iso)
        names = [country_param(f, iso) for f in FITTED]
        lo = np.array([table[n].low for n in names], float)
        hi = np.array([table[n].high for n in names], float)

        def predict(theta: np.ndarray, mode: str = objective, j=j, names=names) -> np.ndarray:
            """(R, T) burdens of this country for R parameter vectors (R, 4)."""
            x = build_inputs(fit_base, {n: theta[:, i] for i, n in enumerate(names)})
            if mode == "free-run":
                return free_run(x, panel, years, capability, j)
            return one_step(x, panel, years, capability)[..., j]

        y = observed_b[:, j]
        res = _fit(predict, y, lo, hi, _starts(table, names, fit_base, y, starts))
        # values within solver noise of a bound are the bound (so "at bound" reads as such)
        theta = np.clip(res.x, lo, hi)
        near = 1e-5 * (hi - lo)
        theta = np.where(theta - lo <= near, lo, np.where(hi - theta <= near, hi, theta))
        theta = np.array([_round(v) for v in theta])
        pred = {m: predict(theta[None], m)[0] for m in OBJECTIVES}
        resid = pred["one-step"] - y
        se = _standard_errors(res.jac, pred[objective] - y, len(theta))
        for i, (f, n) in enumerate(zip(FITTED, names)):
            default = table[n].default if f != "baseline_burden" else None
            at_bound = bool(theta[i] in (lo[i], hi[i]))
            coef_rows.append({"country": iso, "field": f, "param": n, "value": theta[i], "se": se[i],
                              "default": default, "low": lo[i], "high": hi[i], "at_bound": at_bound,
                              "identified": bool(np.isfinite(se[i]) and se[i] < abs(theta[i]))})
            fitted[n] = float(theta[i])
        change = y - previous_b[:, j]
        stat_rows.append({
            "country": iso, "n": len(y),
            "rmse_pp": 100 * _rms(resid),
            "rmse_free_run_pp": 100 * _rms(pred["free-run"] - y),
            "rmse_persistence_pp": 100 * _rms(change),
            "r2_level": _r2(y, resid), "r2_change": _r2(change, resid),
            "growth": growth[iso],
        })
        pred_rows += [{"year": int(t), "country": iso, "observed": float(y[k]),
                       "one_step": float(pred["one-step"][k]), "free_run": float(pred["free-run"][k])}
                      for k, t in enumerate(years)]

    params = base.replace(start_year=ref, anchor=False, **{k: v for k, (v, _) in adjust.items()}, **fitted)
    if params["until"] <= ref:
        params = params.replace(until=ref + 1)
    return Calibration(params=params, train=(first, last), objective=objective,
                       coefficients=pd.DataFrame(coef_rows),
                       stats=pd.DataFrame(stat_rows).set_index("country"),
                       predictions=pd.DataFrame(pred_rows), adjustments=adjust)


def _floor_round(v: float) -> float:
    return math.floor(v * 1e4) / 1e4


def _ceil_round(v: float) -> float:
    return math.ceil(v * 1e4) / 1e4


def _starts(table, names, fit_base: Params, y: np.ndarray, speeds) -> list[np.ndarray]:
    """Starting vectors: intercept at the mean burden, default sensitivity, no drift, several speeds."""
    out = []
    for speed in speeds:
        x0 = np.array([float(np.mean(y)), float(fit_base[names[1]]), speed, 0.0])
        lo = np.array([table[n].low for n in names], float)
        hi = np.array([table[n].high for n in names], float)
        out.append(np.clip(x0, lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo)))
    return out


def _fit(predict, y: np.ndarray, lo: np.ndarray, hi: np.ndarray, starts: list[np.ndarray]):
    """Bounded least squares from each start; the lowest cost wins."""
    def fun(theta):
        return predict(theta[None])[0] - y

    def jac(theta):
        # forward differences, stepping inward at an upper bound; one batch for all columns
        h = 1e-6 * np.maximum(np.abs(theta), np.maximum(hi - lo, 1e-3) * 1e-2)
        h = np.where(theta + h > hi, -h, h)
        batch = np.repeat(theta[None], len(theta) + 1, axis=0)
        batch[1:] += np.diag(h)
        batch = np.clip(batch, lo, hi)
        p = predict(batch)
        return ((p[1:] - p[0]) / (batch[1:] - theta).sum(axis=1)[:, None]).T

    best = None
    for x0 in starts:
        res = least_squares(fun, x0, jac=jac, bounds=(lo, hi), x_scale="jac", method="trf",
                            ftol=1e-12, xtol=1e-12, gtol=1e-12, max_nfev=400)
        if best is None or res.cost < best.cost:
            best = res
    return best


def _standard_errors(jac: np.ndarray, resid: np.ndarray, n_par: int) -> np.ndarray:
    """Asymptotic standard errors sqrt(diag(s^2 (J'J)^-1)); NaN where not identified."""
    dof = len(resid) - n_par
    if dof <= 0:
        return np.full(n_par, np.nan)
    s2 = float(resid @ resid) / dof
    jtj = jac.T @ jac
    if np.linalg.matrix_rank(jtj) < n_par:
        return np.full(n_par, np.nan)
    return np.sqrt(np.maximum(np.diag(np.linalg.inv(jtj)) * s2, 0.0))


def _rms(e: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(e) ** 2)))


def _r2(y: np.ndarray, resid: np.ndarray) -> float:
    sst = float(((y - y.mean()) ** 2).sum())
    return float(1 - (resid ** 2).sum() / sst) if sst > 0 else float("nan")


# --- the scenario file -------------------------------------------------------------------------

def to_toml(cal: Calibration, command: str | None = None) -> str:
    """The calibrated set as a scenario file (``model.sim.scenarios.load_scenario`` reads it back).

    The file holds only what the calibration sets (start year, anchoring, fitted coefficients and
    the data-driven settings); everything else keeps its documented default. Fit statistics,
    the training window and the command are in the comments.
    """
    first, last = cal.train
    p = cal.params
    command = command or " ".join(["armsrace", *sys.argv[1:]])
    how = ("one-step-ahead: each year predicted from the observed state of the year before"
           if cal.objective == "one-step" else
           "free run: each country simulated through the window, the others observed")
    lines = [
        f"# Calibrated by: {command}",
        f"# Least squares on SIPRI burdens, fitted years {first}-{last}; objective {how}.",
        f"# Reference/start year {p['start_year']} (the intercept baseline_burden and drift are read there).",
        "# Fitted per country: " + ", ".join(FITTED) + "; everything else keeps its documented default.",
        "# North Korea has no SIPRI series: not fitted; constant WMEAT 2004-2014 estimate, default coefficients.",
        "# Fit of the burden, percentage points of GDP (n obs; RMSE one-step-ahead, RMSE free run, RMSE of",
        "# 'no change'; R^2 of levels and of yearly changes, one-step):",
    ]
    for iso, r in cal.stats.iterrows():
        lines.append(f"#   {iso}: n={int(r['n'])}  RMSE={r['rmse_pp']:.3f}  free-run RMSE={r['rmse_free_run_pp']:.3f}"
                     f"  no-change RMSE={r['rmse_persistence_pp']:.3f}  R2={r['r2_level']:.3f}"
                     f"  R2(change)={r['r2_change']:.3f}")
    coef = cal.coefficients.set_index("param")
    at_bound = coef[coef["at_bound"]]
    if len(at_bound):
        lines.append("# At a bound of its declared range: "
                     + ", ".join(f"{n}={r.value:g}" for n, r in at_bound.iterrows()))
    weak = coef[~coef["identified"]]
    if len(weak):
        lines.append("# Not identified by the data (standard error undefined or larger than the value): "
                     + ", ".join(weak.index))
    lines += [
        "",
        "[scenario]",
        f'description = "Calibrated to SIPRI burdens {first}-{last} (start {p["start_year"]}, anchoring off)"',
        f'claim = "Response coefficients fitted to history {first}-{last} ({cal.objective}); see the comments"',
        "",
        "[parameters]",
        f"start_year = {p['start_year']}",
        "anchor = false",
    ]
    for iso in p.countries:
        rows = []
        if iso in cal.fitted_countries:
            for f in FITTED:
                n = country_param(f, iso)
                se = coef.loc[n, "se"]
                rows.append(f"{f} = {_num(p[n])}" + (f"  # se {se:.3g}" if np.isfinite(se) else "  # se n/a"))
        suffix = "_" + iso.lower()
        for n, (value, why) in cal.adjustments.items():
            if n.endswith(suffix):
                rows.append(f"{n.removesuffix(suffix)} = {_num(value)}  # {why}")
        if iso in NOT_FITTED:
            rows.append(f"# {NAMES[iso]}: no SIPRI series, not fitted (documented defaults)")
        if rows:
            lines += ["", f"[countries.{iso}]", *rows]
    return "\n".join(lines) + "\n"


def _num(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return f"{float(v):.{SIG}g}" if not float(v).is_integer() else f"{float(v):.1f}"


def write_scenario(cal: Calibration, path: Path, command: str | None = None) -> Path:
    """Write :func:`to_toml` to ``path`` atomically (:func:`model.batch.store.atomic_write`)."""
    from model.batch.store import atomic_write

    return atomic_write(Path(path), to_toml(cal, command))


def coefficient_table(cal: Calibration) -> pd.DataFrame:
    """Wide table: one row per fitted country, value (and se) of each fitted field, plus fit stats."""
    wide = cal.coefficients.pivot(index="country", columns="field", values="value")[list(FITTED)]
    se = cal.coefficients.pivot(index="country", columns="field", values="se")[list(FITTED)]
    se.columns = [f"se_{c}" for c in se.columns]
    return pd.concat([wide, se, cal.stats], axis=1).loc[list(cal.fitted_countries)]


