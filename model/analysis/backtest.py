"""Out-of-sample check of the calibrated model against naive forecasts (MODEL.md, Calibration).

Procedure: calibrate on the years up to ``train_until`` (:func:`model.analysis.calibrate.calibrate`), start
the model from that year's observed state with the calibrated coefficients, simulate to
``test_until`` without noise, and compare burden and spending in the test years with the data and
with two naive forecasts made from the training years only:

* **last value** -- the last training-year value carried forward;
* **linear trend** -- an ordinary least-squares line through the training years, extended.

Errors per country and variable: RMSE (burden in percentage points of GDP, spending in US$ bn at
constant 2023 prices) and MAPE (%). The ``best_rmse`` / ``best_mape`` columns name the forecast
with the smallest error, so a loss of the model shows in the table.

What the forecast knows: the fitted coefficients, the start state (burden, GDP, capability by
perpetual inventory of spending up to ``train_until``) and GDP growth (the mean of the training
years, set by the calibration) come from the training years only, and Japan's 2%-by-FY2027 floor
(decided December 2022) is left out when training ends before 2022. The naive forecasts use the
training years only. **Not** free of look-ahead: every parameter that is not fitted keeps its
documented default, and those describe 2024 -- debt ratios (IMF 2024), hostility weights,
alliance credibility, theatre shares, burden floors and caps (moved only where the training data
lie outside them), the pressure response and the US 2% expectation applied in every year. The
backtest therefore tests the fitted dynamics given today's relations, not a forecast that could
have been made in ``train_until``.

The calibrated set starts in ``train_until`` (the calibration's reference year): passing another
``reference_year`` is refused, since the model would then start after the last training year.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.analysis.calibrate import DEFAULT_TRAIN, Calibration, build_panel, calibrate
from model.errors import ParameterError
from model.sim import dynamics
from model.sim.data import history
from model.sim.inputs import build_inputs
from model.sim.params import Params, country_param

FORECASTS = ("model", "last", "trend")
"""Forecast names in table order: the calibrated model, last value carried forward, linear trend."""
LABELS = {"model": "model (calibrated)", "last": "last value carried forward",
          "trend": "linear trend of the training years"}
VARIABLES = {"burden": ("% of GDP", 100.0), "spending": ("US$ bn, constant 2023 prices", 1.0)}
"""Variable -> (unit shown, factor from model units): burden is shown in % (errors in pp)."""


@dataclass
class Backtest:
    """Result of a backtest.

    Attributes:
        calibration: the calibration on the training years.
        params: the parameter set simulated (start year = last training year).
        forecasts: long table ``year, country, variable, actual, model, last, trend`` over the
            training and test years, model units (burden share of GDP, spending US$ bn). Forecast
            columns are NaN before ``train_until``; in ``train_until`` each holds its own starting
            point (model: the simulated start state, which is the observed state; last: the observed
            value; trend: the fitted line), so the plotted forecasts all start there.
        table: one row per country and variable: ``n`` (test years), ``rmse_<f>`` and
            ``mape_<f>`` for each forecast, ``best_rmse``, ``best_mape``. RMSE of burden in
            percentage points of GDP, of spending in US$ bn; MAPE in %.
    """

    calibration: Calibration
    params: Params
    forecasts: pd.DataFrame
    table: pd.DataFrame

    @property
    def train(self) -> tuple[int, int]:
        return self.calibration.train

    @property
    def test(self) -> tuple[int, int]:
        return self.train[1] + 1, int(self.params["until"])


def naive_last(train_values: np.ndarray, n_ahead: int) -> np.ndarray:
    """Last training value repeated ``n_ahead`` times."""
    return np.full(n_ahead, float(train_values[-1]))


def naive_trend(train_years: np.ndarray, train_values: np.ndarray, test_years: np.ndarray) -> np.ndarray:
    """OLS line ``a + b * year`` through the training values, evaluated at ``test_years``."""
    slope, intercept = np.polyfit(np.asarray(train_years, float), np.asarray(train_values, float), 1)
    return intercept + slope * np.asarray(test_years, float)


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(forecast) - np.asarray(actual)) ** 2)))


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error, % of the actual value."""
    a = np.asarray(actual, float)
    return float(100 * np.mean(np.abs((np.asarray(forecast) - a) / a)))


def simulate_from_panel(params: Params, panel, start_year: int) -> dict[str, np.ndarray]:
    """Deterministic run from the panel's observed state in ``start_year``.

    The start state is the panel's (for the SIPRI history it equals what
    :func:`model.sim.data.observed` gives, so this is an ordinary model run; for a test history it
    starts the model from that history).

    Returns:
        ``burden`` and ``spending`` paths ``(T + 1, N)`` from the start year to ``until``.
    """
    k = panel.index(start_year)
    params = params.replace(**{country_param("initial_burden", c): float(panel.burden[k, j])
                               for j, c in enumerate(panel.countries)})
    x = build_inputs(params)
    capability = panel.capability(float(params["depreciation"]))[k]
    x = dataclasses.replace(x, gdp0=panel.gdp[k].copy(), capability0=capability)
    s = x.start_state()
    burden, spending = [s.burden], [s.spending]
    for year in x.years:
        s = dynamics.step(s, x, year, None)
        burden.append(s.burden)
        spending.append(s.spending)
    return {"burden": np.stack(burden), "spending": np.stack(spending)}


def backtest(train_until: int, test_until: int = 2024, train_start: int = DEFAULT_TRAIN[0],
             base: Params | None = None, hist: pd.DataFrame | None = None, **calibrate_kw) -> Backtest:
    """Calibrate on ``train_start..train_until``, simulate to ``test_until``, score against naive forecasts.

    Args:
        train_until: last training year (the model starts from its observed state).
        test_until: last test year (needs data).
        train_start: first fitted year.
        base: parameters that are not fitted (default: the defaults).
        hist: history table (default: SIPRI, :func:`model.sim.data.history`).
        **calibrate_kw: passed to :func:`model.analysis.calibrate.calibrate` (``starts``, ``objective``,
            ``countries``; a ``reference_year`` other than ``train_until`` is refused).

    Raises:
        ParameterError: test years outside the data, a bad training window, or a ``reference_year``
            other than ``train_until``.
    """
    if test_until <= train_until:
        raise ParameterError(f"The '--test-until' year must be after --train-until ({train_until}). "
                             f"Got {test_until!r} instead.")
    data = history() if hist is None else hist
    last_data = int(data.groupby("country")["year"].max().min())
    if test_until > last_data:
        raise ParameterError(f"The '--test-until' year must have data for every country (up to "
                             f"{last_data}). Got {test_until!r} instead.")
    ref = calibrate_kw.pop("reference_year", None)
    if ref is not None and ref != train_until:
        raise ParameterError(f"The backtest's reference year must be the last training year ({train_until}): the "
                             f"model starts from its observed state. Got {ref!r} instead.")
    cal = calibrate(base, (train_start, train_until), hist=hist, **calibrate_kw)
    if cal.params["start_year"] != train_until:  # the forecast must start from the last training year
        raise ParameterError(f"The calibrated start year must be the last training year ({train_until}). "
                             f"Got {cal.params['start_year']!r} instead.")
    params = cal.params.replace(until=test_until)
    panel = build_panel(params.countries, train_start - 1, test_until, hist)
    sim = simulate_from_panel(params, panel, train_until)
    train_years = np.arange(train_start, train_until + 1)
    test_years = np.arange(train_until + 1, test_until + 1)
    tr = slice(panel.index(train_start), panel.index(train_until) + 1)
    te = slice(panel.index(train_until + 1), panel.index(test_until) + 1)
    rows, fc_rows = [], []
    for j, iso in enumerate(params.countries):
        if iso not in cal.fitted_countries:
            continue  # North Korea: no observed series to score against
        for var in VARIABLES:
            series = getattr(panel, var)[:, j]
            actual = series[te]
            # each forecast from train_until (its starting point) to test_until; scored on the test years
            fc = {"model": sim[var][:, j],
                  "last": naive_last(series[tr], len(test_years) + 1),
                  "trend": naive_trend(train_years, series[tr], np.r_[train_until, test_years])}
            scale = VARIABLES[var][1]  # burden errors in percentage points
            row = {"country": iso, "variable": var, "n": len(test_years)}
            for f in FORECASTS:
                row[f"rmse_{f}"] = scale * rmse(actual, fc[f][1:])
            for f in FORECASTS:
                row[f"mape_{f}"] = mape(actual, fc[f][1:])
            row["best_rmse"] = min(FORECASTS, key=lambda f: row[f"rmse_{f}"])
            row["best_mape"] = min(FORECASTS, key=lambda f: row[f"mape_{f}"])
            rows.append(row)
            for k, year in enumerate(panel.years):
                r = {"year": int(year), "country": iso, "variable": var, "actual": float(series[k])}
                for f in FORECASTS:
                    r[f] = float(fc[f][year - train_until]) if year >= train_until else np.nan
                fc_rows.append(r)
    return Backtest(calibration=cal, params=params, forecasts=pd.DataFrame(fc_rows), table=pd.DataFrame(rows))


def format_table(table: pd.DataFrame) -> str:
    """The table as fixed-width text (burden RMSE in pp of GDP, spending RMSE in US$ bn, MAPE in %)."""
    head = (f"{'country':<8}{'variable':<10}{'RMSE model':>11}{'last':>9}{'trend':>9}"
            f"{'MAPE% model':>13}{'last':>8}{'trend':>8}  {'best (RMSE)':<12}{'best (MAPE)':<12}")
    lines = [head, "-" * len(head)]
    for r in table.itertuples():
        unit = "pp" if r.variable == "burden" else "bn"
        lines.append(f"{r.country:<8}{r.variable + ' ' + unit:<10}{r.rmse_model:>11.3f}{r.rmse_last:>9.3f}"
                     f"{r.rmse_trend:>9.3f}{r.mape_model:>13.1f}{r.mape_last:>8.1f}{r.mape_trend:>8.1f}  "
                     f"{r.best_rmse:<12}{r.best_mape:<12}")
    wins = table["best_rmse"].value_counts()
    lines.append("RMSE wins: " + ", ".join(f"{f} {int(wins.get(f, 0))}" for f in FORECASTS)
                 + f" (of {len(table)} country-variables)")
    return "\n".join(lines)
