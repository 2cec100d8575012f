"""Out-of-sample check of the scenario model itself, at rolling origins (docs/MODEL.md, "Backtest").

At each origin ``Y`` (default every year 2005-2016): estimate the decision rule on the years up
to ``Y`` (:func:`model.analysis.calibrate.calibrate`), build the *scenario model* with those
coefficients -- the same parameters, anchoring device and code that run the scenarios, started
from the observed state of ``Y`` -- and simulate every country jointly, without shocks, to 2024.
Burden and spending of the years after ``Y`` are scored against the data and against naive
forecasts made from the years up to ``Y`` only:

* ``last`` -- the last value carried forward ("no change");
* ``trend`` -- an OLS line through the last :data:`WINDOW` years, extended;
* ``rw_drift`` -- a random walk with drift: the last value plus the mean yearly change of the
  last :data:`WINDOW` years;
* ``last_burden_gdp`` (spending only) -- the last burden times the model's own GDP path, which
  separates "knowing that GDP grows" from knowing anything about military spending.

Errors per country and variable: RMSE (burden in percentage points of GDP, spending in US$ bn at
constant 2023 prices) and MAPE (%). The summary per origin is the geometric mean over countries
of RMSE(model) / RMSE(last value), with a bootstrap 95% interval over countries; over all origins,
the same with countries resampled as blocks (each country keeps its origins).

What the forecast knows: coefficients, GDP growth (the mean of the last :data:`WINDOW` years of
SIPRI-implied GDP) and the start state come from the years up to ``Y``; Japan's legislated floor
is left out before it was decided (December 2022). **Not** free of look-ahead: the priors --
hostility weights, theatre shares, credibility, floors and caps, the pressure response -- describe
2024; the US demand stays at the historical 2% in every test year. North Korea is not scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.analysis.calibrate import DEFAULT_SAMPLE, MIN_YEARS, NOT_FITTED, Calibration, Panel, build_panel, calibrate
from model.errors import ParameterError
from model.sim import dynamics
from model.sim.data import Observed, history
from model.sim.inputs import build_inputs
from model.sim.params import Params, country_param

BASELINES = ("last", "trend", "rw_drift", "last_burden_gdp")
"""Naive forecasts, in table order (``last_burden_gdp`` for spending only)."""
FORECASTS = ("model", *BASELINES)
LABELS = {"model": "model (estimated, anchored)", "last": "last value carried forward",
          "trend": "linear trend (last 10 years)", "rw_drift": "random walk with drift (last 10 years)",
          "last_burden_gdp": "last burden x the model's GDP path"}
VARIABLES = {"burden": ("% of GDP", 100.0), "spending": ("US$ bn, constant 2023 prices", 1.0)}
"""Variable -> (unit shown, factor from model units): burden is shown in % (errors in pp)."""
WINDOW = 10
"""Years before the origin used by the trend and drift baselines and for the model's GDP growth."""
ORIGINS = tuple(range(2005, 2017))
"""Default rolling origins (last training years)."""
JAPAN_FLOOR_DECIDED = 2022
"""Year Japan's defence-spending goal was decided (National Security Strategy, December 2022)."""
BOOTSTRAP = 2000
"""Bootstrap resamples of countries for the interval of the geometric-mean ratio."""


@dataclass
class Backtest:
    """The backtest at one origin.

    Attributes:
        calibration: the estimate on the years up to the origin.
        params: the scenario model that was simulated (start year = origin).
        forecasts: long table ``year, country, variable, actual`` and one column per forecast,
            model units (burden share of GDP, spending US$ bn), from the origin to the last test year.
        table: per country and variable: ``n``, ``rmse_<f>`` and ``mape_<f>`` per forecast
            (burden RMSE in pp of GDP, spending in US$ bn; MAPE in %), ``ratio_last``
            (RMSE model / RMSE last value), ``best_rmse``.
    """

    calibration: Calibration
    params: Params
    forecasts: pd.DataFrame
    table: pd.DataFrame

    @property
    def origin(self) -> int:
        return int(self.params["start_year"])

    @property
    def train(self) -> tuple[int, int]:
        return self.calibration.sample

    @property
    def test(self) -> tuple[int, int]:
        return self.origin + 1, int(self.params["until"])


def naive_last(train_values: np.ndarray, n_ahead: int) -> np.ndarray:
    """Last training value repeated ``n_ahead`` times."""
    return np.full(n_ahead, float(train_values[-1]))


def naive_trend(train_years: np.ndarray, train_values: np.ndarray, test_years: np.ndarray) -> np.ndarray:
    """OLS line ``a + b * year`` through the training values, evaluated at ``test_years``."""
    slope, intercept = np.polyfit(np.asarray(train_years, float), np.asarray(train_values, float), 1)
    return intercept + slope * np.asarray(test_years, float)


def naive_drift(train_values: np.ndarray, n_ahead: int) -> np.ndarray:
    """Random walk with drift: the last value plus ``h`` times the mean yearly change, h = 1..n_ahead."""
    v = np.asarray(train_values, float)
    drift = (v[-1] - v[0]) / (len(v) - 1) if len(v) > 1 else 0.0
    return v[-1] + drift * np.arange(1, n_ahead + 1)


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(forecast) - np.asarray(actual)) ** 2)))


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error, % of the actual value."""
    a = np.asarray(actual, float)
    return float(100 * np.mean(np.abs((np.asarray(forecast) - a) / a)))


def geometric_mean(ratios: np.ndarray) -> float:
    return float(np.exp(np.mean(np.log(np.asarray(ratios, float)))))


def observed_state(panel: Panel, year: int) -> Observed:
    """The panel's observed state in ``year``, in the form the model starts from."""
    k = panel.index(year)
    hist = tuple(series[: int(year - first) + 1] if panel.observed[j] else series
                 for j, (first, series) in enumerate(panel.spending_history))
    return Observed(burden=panel.burden[k].copy(), gdp=panel.gdp[k].copy(), spending_history=hist)


def scenario_params(cal: Calibration, panel: Panel, origin: int, until: int, base: Params | None = None) -> Params:
    """The scenario model at ``origin``: ``base`` with the estimated coefficients, training-window
    growth, and no legislated floor that was not yet decided."""
    base = Params.from_kwargs() if base is None else base
    a, b = panel.index(max(origin - WINDOW, int(panel.years[0]))), panel.index(origin)
    growth = {}
    for j, iso in enumerate(panel.countries):
        if panel.observed[j] and b > a:
            growth[country_param("growth", iso)] = float((panel.gdp[b, j] / panel.gdp[a, j]) ** (1 / (b - a)) - 1)
    floors = {country_param("floor_target", c): 0.0 for c in base.countries
              if c == "JPN" and origin < JAPAN_FLOOR_DECIDED}
    return base.replace(start_year=origin, until=until, anchor=True, **cal.overrides(base.countries),
                        **growth, **floors)


def simulate_scenario(params: Params, panel: Panel) -> dict[str, np.ndarray]:
    """Deterministic run of the scenario model from the panel's observed state in ``start_year``.

    Returns:
        Each state variable ``(T + 1, N)`` from the start year to ``until``.
    """
    start = observed_state(panel, int(params["start_year"]))
    x = build_inputs(params, start=start)
    return dynamics.simulate(x)


def backtest(train_until: int, test_until: int = 2024, train_start: int = DEFAULT_SAMPLE[0],
             base: Params | None = None, hist: pd.DataFrame | None = None) -> Backtest:
    """Estimate on ``train_start..train_until``, run the scenario model to ``test_until``, score it.

    Args:
        train_until: the origin: last training year, the model starts from its observed state.
        test_until: last test year (needs data for every country).
        train_start: first year of the estimation sample (its lag must be in the data).
        base: the scenario's other parameters (default: the defaults).
        hist: history table (default: SIPRI, :func:`model.sim.data.history`).

    Raises:
        ParameterError: test years outside the data, or a bad training window.
    """
    check_origins((train_until,), test_until, train_start, hist, "--train-until")
    base = Params.from_kwargs() if base is None else base
    cal = calibrate((train_start, train_until), base, hist)
    panel = build_panel(base.countries, train_start - 1, test_until, hist)
    params = scenario_params(cal, panel, train_until, test_until, base)
    sim = simulate_scenario(params, panel)
    rows, fc_rows = [], []
    k0 = panel.index(train_until)
    window = slice(panel.index(max(train_until - WINDOW + 1, train_start - 1)), k0 + 1)
    test_years = np.arange(train_until + 1, test_until + 1)
    h = len(test_years)
    for j, iso in enumerate(params.countries):
        if iso in NOT_FITTED or not panel.observed[j]:
            continue  # North Korea: no observed series to score against
        for var in VARIABLES:
            series = getattr(panel, var)[:, j]
            actual = series[k0 + 1:]
            train_years, train_values = panel.years[window], series[window]
            fc = {"model": sim[var][1:, j], "last": naive_last(train_values, h),
                  "trend": naive_trend(train_years, train_values, test_years),
                  "rw_drift": naive_drift(train_values, h)}
            if var == "spending":
                fc["last_burden_gdp"] = panel.burden[k0, j] * sim["gdp"][1:, j]
            scale = VARIABLES[var][1]
            row = {"country": iso, "variable": var, "n": h}
            for f in FORECASTS:
                row[f"rmse_{f}"] = scale * rmse(actual, fc[f]) if f in fc else np.nan
            for f in FORECASTS:
                row[f"mape_{f}"] = mape(actual, fc[f]) if f in fc else np.nan
            row["ratio_last"] = row["rmse_model"] / row["rmse_last"]
            row["best_rmse"] = min((f for f in FORECASTS if f in fc), key=lambda f: row[f"rmse_{f}"])
            rows.append(row)
            for k, year in enumerate(panel.years[k0:], start=k0):
                r = {"year": int(year), "country": iso, "variable": var, "actual": float(series[k])}
                for f in FORECASTS:
                    r[f] = float(series[k0]) if year == train_until and f in fc else (
                        float(fc[f][k - k0 - 1]) if f in fc and year > train_until else np.nan)
                fc_rows.append(r)
    return Backtest(calibration=cal, params=params, forecasts=pd.DataFrame(fc_rows), table=pd.DataFrame(rows))


@dataclass
class Rolling:
    """Backtests at rolling origins.

    Attributes:
        results: one :class:`Backtest` per origin.
        table: every origin's table, with an ``origin`` column.
        summary: per origin and variable (and ``origin = "all"``): ``geo_ratio`` (geometric mean
            over countries of RMSE model / RMSE last value), ``lo``/``hi`` (bootstrap 95% interval),
            ``wins`` (countries where the model beats the last value), ``countries``.
    """

    results: list[Backtest]
    table: pd.DataFrame
    summary: pd.DataFrame


def rolling(origins: tuple[int, ...] = ORIGINS, test_until: int = 2024, train_start: int = DEFAULT_SAMPLE[0],
            base: Params | None = None, hist: pd.DataFrame | None = None, seed: int = 0,
            progress: bool = False) -> Rolling:
    """:func:`backtest` at every origin, and the summary of its ratios to the last value.

    Args:
        origins: last training years.
        seed: seed of the bootstrap (numpy Generator).
        progress: show a progress bar on stderr.
    """
    if not origins:
        raise ParameterError("The rolling backtest needs at least one origin. Got none.")
    check_origins(origins, test_until, train_start, hist, "--rolling")
    results = []
    items = origins
    if progress:
        from tqdm import tqdm

        items = tqdm(origins, desc="backtest origins", unit="origin")
    for origin in items:
        results.append(backtest(origin, test_until, train_start, base, hist))
    table = pd.concat([r.table.assign(origin=r.origin) for r in results], ignore_index=True)
    return Rolling(results, table, summarise(table, seed))


def check_origins(origins: tuple[int, ...], test_until: int, train_start: int, hist: pd.DataFrame | None,
                  option: str) -> None:
    """Refuse, before any work, origins the data cannot serve: too few training years, no test year."""
    data = history() if hist is None else hist
    last_data = int(data.groupby("country")["year"].max().min())
    earliest = train_start + MIN_YEARS - 1
    if min(origins) < earliest:
        raise ParameterError(f"The {option!r} origin(s) must leave at least {MIN_YEARS} training years after "
                             f"--train-start {train_start} (from {earliest} on). Got {min(origins)} instead.")
    if max(origins) >= last_data:
        raise ParameterError(f"The {option!r} origin(s) must leave a test year before the last year with data "
                             f"({last_data}). Got {max(origins)} instead.")
    if test_until <= max(origins):
        raise ParameterError(f"The '--test-until' year must be after the last origin ({max(origins)}). "
                             f"Got {test_until!r} instead.")
    if test_until > last_data:
        raise ParameterError(f"The '--test-until' year must have data for every country (up to "
                             f"{last_data}). Got {test_until!r} instead.")


def summarise(table: pd.DataFrame, seed: int = 0, resamples: int = BOOTSTRAP) -> pd.DataFrame:
    """Geometric-mean ratios per origin and variable, and over all origins.

    ``geo_ratio`` (with the bootstrap interval ``lo``-``hi`` and the model's ``wins``) is against the
    last value; ``vs_<baseline>`` the same geometric mean against each other naive forecast (for
    spending, ``vs_last_burden_gdp`` tells how much of a win is only knowing that GDP grows).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for var, d in table.groupby("variable", sort=False):
        countries = sorted(d["country"].unique())
        wide = d.pivot(index="origin", columns="country", values="ratio_last")[countries]
        logs = np.log(wide.to_numpy())                                       # (origins, countries)
        others = {}
        for b in BASELINES[1:]:
            column = f"rmse_{b}"
            if column in d and d[column].notna().all():
                ratio = (d["rmse_model"] / d[column]).to_numpy()
                others[b] = np.log(pd.DataFrame({"origin": d["origin"], "country": d["country"], "r": ratio})
                                   .pivot(index="origin", columns="country", values="r")[countries].to_numpy())
        pick = rng.integers(0, len(countries), size=(resamples, len(countries)))
        for i, origin in enumerate(wide.index):
            boot = np.exp(logs[i][pick].mean(axis=1))
            rows.append({"origin": str(origin), "variable": var, "geo_ratio": float(np.exp(logs[i].mean())),
                         "lo": float(np.quantile(boot, 0.025)), "hi": float(np.quantile(boot, 0.975)),
                         "wins": int((wide.iloc[i] < 1).sum()), "countries": len(countries),
                         **{f"vs_{b}": float(np.exp(v[i].mean())) for b, v in others.items()}})
        boot = np.exp(logs[:, pick].mean(axis=(0, 2)))
        rows.append({"origin": "all", "variable": var, "geo_ratio": float(np.exp(logs.mean())),
                     "lo": float(np.quantile(boot, 0.025)), "hi": float(np.quantile(boot, 0.975)),
                     "wins": int((wide.to_numpy() < 1).sum()), "countries": int(wide.size),
                     **{f"vs_{b}": float(np.exp(v.mean())) for b, v in others.items()}})
    return pd.DataFrame(rows)


def format_table(table: pd.DataFrame) -> str:
    """One origin's table as fixed-width text (burden RMSE in pp of GDP, spending RMSE in US$ bn)."""
    head = (f"{'country':<8}{'variable':<12}{'model':>9}{'last':>9}{'trend':>9}{'rw+drift':>10}"
            f"{'lastb*GDP':>11}{'model/last':>12}  {'best':<16}")
    lines = [head, "-" * len(head)]
    for r in table.itertuples():
        unit = "pp" if r.variable == "burden" else "bn"
        extra = "" if np.isnan(r.rmse_last_burden_gdp) else f"{r.rmse_last_burden_gdp:.3f}"
        lines.append(f"{r.country:<8}{r.variable + ' ' + unit:<12}{r.rmse_model:>9.3f}{r.rmse_last:>9.3f}"
                     f"{r.rmse_trend:>9.3f}{r.rmse_rw_drift:>10.3f}{extra:>11}{r.ratio_last:>12.2f}  {r.best_rmse:<16}")
    return "\n".join(lines)


def format_summary(summary: pd.DataFrame) -> str:
    """The rolling summary as fixed-width text."""
    lines = [f"{'origin':<8}{'variable':<10}{'model/last (geo. mean)':>24}{'95% interval':>18}{'wins':>8}"
             f"{'/trend':>8}{'/drift':>8}{'/lastb*GDP':>11}", "-" * 95]
    for r in summary.itertuples():
        extra = getattr(r, "vs_last_burden_gdp", np.nan)
        lines.append(f"{r.origin:<8}{r.variable:<10}{r.geo_ratio:>24.2f}{f'[{r.lo:.2f}, {r.hi:.2f}]':>18}"
                     f"{f'{r.wins}/{r.countries}':>8}{r.vs_trend:>8.2f}{r.vs_rw_drift:>8.2f}"
                     f"{'' if np.isnan(extra) else f'{extra:.2f}':>11}")
    return "\n".join(lines)
