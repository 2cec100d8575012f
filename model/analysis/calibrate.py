"""Estimate the decision rule from the SIPRI panel (docs/MODEL.md, "Estimation").

The model's rule, ``b_t = b_{t-1} + lambda (desired_t - b_{t-1})`` with
``desired = alpha_i + s * threat + f * support`` (pressure and limits aside), is the partial-
adjustment demand for military expenditure (Smith 1980, 1995; Dunne, Perlo-Freeman & Smith 2008).
Written out it is the dynamic panel regression

    b_it = a_i + rho * b_i,t-1 + beta * threat_it + phi * support_it + omega * war_it + e_it,

with ``rho = 1 - lambda``, ``beta = lambda * s``, ``phi = lambda * f`` and country effects ``a_i``.
``war_it`` marks a country at war in year ``t`` (``model/data/wars.csv``: Russia 2022-2024, the
full-scale invasion of Ukraine), a control of the kind the demand equations use (a war raises the
burden for reasons no threat measure of the theatre holds). Only this war is marked: the US wars in
Iraq and Afghanistan (2003-2011), fought outside the theatre, are not, so the US build-up and
drawdown around them count as part of its rule (the report's limits). Without it, Russia's 2022-2024 surge
-- 3.6% to 7.1% of GDP -- is read as a response to Pacific rivals and quadruples the estimated threat
sensitivity (:data:`ROBUSTNESS`). It is a control only: runs start at rest under anchoring, which
absorbs a war that continues, so the simulated rule needs no war term. A sample without war years
drops the column.
Threat and support are computed by the model's own functions (:func:`model.sim.dynamics.perceive`)
from the *observed* state of every country the year before, with the default relations: threat is
the log of hostility-weighted rival spending in the theatre, support ``log(1 + credible allied
spending)``. North Korea has no series: its spending enters others' threat as the constant WMEAT
estimate, and it is never in the sample.

Estimator: :class:`linearmodels.panel.PanelOLS` with entity effects (within estimator), pooled
over the six countries with a SIPRI series, and Driscoll-Kraay standard errors (Bartlett kernel,
bandwidth :data:`BANDWIDTH`): robust to heteroskedasticity, serial correlation and common shocks
across countries. Clustering by country is not used: six clusters are far too few (Cameron &
Miller 2015). The coefficient covariance is kept (``estimates.toml``) so runs can draw from it.

What the data identify, and what they do not (the report states it with the numbers):

* persistence ``rho`` (hence the adjustment speed) is well identified; with ``T`` about 30 years
  the within estimator is biased down (Nickell 1981; the analytic bias is reported): in the
  recovery simulations of the test suite (32 years x 6 countries, true rho 0.8) it averages about
  0.77. The split-panel jackknife (Dhaene & Jochmans 2015) over-corrects there (about 0.89), so it
  is not used;
* the threat and ally coefficients are estimated but weakly identified (their intervals are wide);
  the support term is identified from the US alliance only (the rivals' partnership is set to 0
  in the regressors: the co-movement of Chinese and Russian spending would otherwise read as
  "partners spend together", which the panel cannot tell from two trends);
* not identified, hence priors: the response to US pressure (the US expectation of 2% never
  changed in the sample, so it is absorbed by the country effects), fiscal drag and backlash (no
  debt series), hostility weights and theatre shares (they define the threat measure), the
  partnership weight, Russia's European term, North Korea's everything.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from model.errors import ParameterError
from model.sim import dynamics
from model.sim.data import PRK_BURDEN_ESTIMATE, PRK_GDP_ESTIMATE, history, initial_capability
from model.sim.inputs import build_inputs
from model.sim.params import COUNTRIES, DATA_DIR, ESTIMATED, Params

DEFAULT_SAMPLE = (1993, 2024)
"""Years of the dependent variable: the first year with every regressor (Russia's series starts in 1992)."""
BANDWIDTH = 3
"""Driscoll-Kraay bandwidth (Bartlett kernel): floor(4 (T/100)^(2/9)) for T of about 30 (Newey & West 1994)."""
NOT_FITTED = ("PRK",)
"""Countries without an observed series: never in the sample; a constant WMEAT state in others' regressors."""
REGRESSORS = ("b_lag", "threat", "support", "war")
"""Regressors in the order of the coefficient vector (rho, beta, phi, omega)."""
COEFFICIENTS = ("rho", "beta", "phi", "omega")
"""Names of the coefficients of :data:`REGRESSORS`; the first three are the rule's, omega a control."""
MIN_YEARS = 8
"""Fewest years of the dependent variable accepted (a shorter panel cannot separate the effects)."""


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
        """Capability stock ``(Y, N)``, US$ bn, by perpetual inventory up to each year."""
        out = np.empty_like(self.burden)
        for j, (first, series) in enumerate(self.spending_history):
            for k, year in enumerate(self.years):
                upto = series[: int(year - first) + 1] if self.observed[j] else series
                out[k, j] = initial_capability(upto, depreciation)
        return out


def build_panel(countries: tuple[str, ...], first: int, last: int, hist: pd.DataFrame | None = None) -> Panel:
    """Observed panel of ``countries`` over ``first..last`` (inclusive).

    Args:
        countries: country codes.
        first, last: years (inclusive).
        hist: history table like :func:`model.sim.data.history` (default: the SIPRI data). A
            country absent from it must be North Korea, which gets the constant WMEAT estimate.

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
            spend_hist.append((int(first), np.array([PRK_BURDEN_ESTIMATE * PRK_GDP_ESTIMATE])))
            continue
        have = rows.index[rows.index <= last]
        lo = int(have.min()) if len(have) else None
        if lo is None or lo > first or len(have) != last - lo + 1:
            span = f"{int(rows.index.min())}-{int(rows.index.max())}"
            raise ParameterError(f"The sample must lie within the years with data for {iso} ({span}, no gaps; "
                                 f"it includes the year before the first year of the sample). "
                                 f"Got {first}-{last} instead.")
        sel = rows.loc[first:last]
        burden.append(sel["burden"].to_numpy(float))
        gdp.append(sel["gdp"].to_numpy(float))
        obs.append(True)
        spend_hist.append((lo, rows.loc[lo:last, "spending"].to_numpy(float)))
    b, g = np.stack(burden, axis=-1), np.stack(gdp, axis=-1)
    return Panel(tuple(countries), years, b, g, b * g, np.array(obs), tuple(spend_hist))


# --- regressors ---------------------------------------------------------------------------------

def estimation_params(base: Params | None, first_year: int, countries: tuple[str, ...]) -> Params:
    """The relations the regressors are computed with: ``base`` (default: the defaults) without the
    rivals' partnership, shocks, doctrine or a credibility shock, starting the year before the sample."""
    base = Params.from_kwargs() if base is None else base
    return base.replace(countries=list(countries), start_year=max(first_year - 1, 1992),
                        until=max(base["until"], first_year), partnership=0.0, threat_noise=0.0, budget_noise=0.0,
                        counterattack=False, credibility_shock_year=0, anchor=False, threat_model="log",
                        hostility_scale=1.0, coefficient_draws=False, prk_draws=False)


def regressors(panel: Panel, years: np.ndarray, base: Params | None = None) -> pd.DataFrame:
    """The regression data: for each fitted country and year, the burden, its lag, threat and support.

    Threat and support of year ``t`` are those every country perceives from the observed state of
    ``t - 1``, computed by :func:`model.sim.dynamics.perceive` (the model's own phase 1).

    Returns:
        Indexed by (country, year): ``b`` (share of GDP), ``b_lag``, ``threat`` (log US$ bn),
        ``support`` (log(1 + US$ bn)), ``war`` (1 in a year at war, :func:`wars`).
    """
    at_war = wars()
    p = estimation_params(base, int(years[0]), panel.countries)
    x = build_inputs(p)
    fitted = [j for j, c in enumerate(panel.countries) if panel.observed[j]]
    rows = []
    for year in years:
        k = panel.index(year - 1)
        state = dynamics.State(panel.burden[k], panel.spending[k], panel.gdp[k], panel.spending[k] * 0,
                               *(np.zeros(len(panel.countries)),) * 3)
        seen = dynamics.perceive(x, dynamics.schedule(x, int(year)), state)
        for j in fitted:
            iso = panel.countries[j]
            rows.append((iso, int(year), panel.burden[k + 1, j], panel.burden[k, j], float(seen.threat[j]),
                         float(seen.support[j]), float((iso, int(year)) in at_war)))
    df = pd.DataFrame(rows, columns=["country", "year", "b", *REGRESSORS])
    return df.set_index(["country", "year"])


def wars() -> set[tuple[str, int]]:
    """(country, year) pairs at war, from ``model/data/wars.csv`` (see the module docstring)."""
    table = pd.read_csv(DATA_DIR / "wars.csv")
    return {(r.country_iso3, y) for r in table.itertuples() for y in range(int(r.first_year), int(r.last_year) + 1)}


# --- estimation ---------------------------------------------------------------------------------

@dataclass
class Estimate:
    """A fitted panel regression.

    Attributes:
        params: ``rho``, ``beta``, ``phi`` (short-run coefficients, share of GDP units) and, when the
            sample has war years, ``omega`` (the war control).
        cov: their Driscoll-Kraay covariance (DataFrame).
        effects: country intercepts ``a_i`` (share of GDP).
        resid_sd: standard deviation of the residuals (share of GDP).
        resid_sd_relative: standard deviation of the residuals relative to the lagged burden (the
            yearly burden shock of the size the data show, as ``budget_noise`` expresses it).
        nobs, n_years: observations and years.
        r2_within: within R^2.
    """

    params: pd.Series
    cov: pd.DataFrame
    effects: pd.Series
    resid_sd: float
    resid_sd_relative: float
    nobs: int
    n_years: int
    r2_within: float

    @property
    def se(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.cov.to_numpy())), index=self.params.index)

    def long_run(self) -> pd.DataFrame:
        """Adjustment speed ``1 - rho``, threat sensitivity ``beta / (1 - rho)``, ally response
        ``phi / (1 - rho)``, with delta-method standard errors."""
        rho, beta, phi = self.params[list(COEFFICIENTS[:3])].to_numpy()
        lam = 1.0 - rho
        values = {"adjustment_speed": lam, "threat_sensitivity": beta / lam, "ally_response": phi / lam}
        grads = {"adjustment_speed": np.array([-1.0, 0.0, 0.0]),
                 "threat_sensitivity": np.array([beta / lam**2, 1.0 / lam, 0.0]),
                 "ally_response": np.array([phi / lam**2, 0.0, 1.0 / lam])}
        cov = self.rule_cov.to_numpy()
        return pd.DataFrame({"value": values, "se": {k: float(np.sqrt(g @ cov @ g)) for k, g in grads.items()}})

    @property
    def rule_cov(self) -> pd.DataFrame:
        """The covariance of (rho, beta, phi): what coefficient draws use (the marginal of the full one)."""
        names = list(COEFFICIENTS[:3])
        return self.cov.loc[names, names]

    def nickell_bias(self) -> float:
        """Nickell's (1981) asymptotic bias of the within estimate of ``rho`` at the sample's length."""
        rho, t = float(self.params["rho"]), self.n_years
        a = 1.0 - (1.0 - rho**t) / (t * (1.0 - rho))
        return float(-(1.0 + rho) / (t - 1) * a / (1.0 - 2.0 * rho * a / ((1.0 - rho) * (t - 1))))


def fit(data: pd.DataFrame, bandwidth: int = BANDWIDTH) -> tuple[pd.Series, pd.DataFrame, pd.Series, object]:
    """Within estimator with Driscoll-Kraay covariance; returns (params, cov, effects, result)."""
    from linearmodels.panel import PanelOLS

    used = [r for r in REGRESSORS if r != "war" or data[r].any()]  # a sample without war years drops it
    exog = data[used]
    res = PanelOLS(data["b"], exog, entity_effects=True).fit(cov_type="kernel", kernel="bartlett",
                                                             bandwidth=bandwidth)
    params = res.params.rename(dict(zip(REGRESSORS, COEFFICIENTS)))
    cov = pd.DataFrame(res.cov.to_numpy(), index=params.index, columns=params.index)
    effects = (data["b"] - exog @ res.params.to_numpy()).groupby(level="country").mean()
    return params, cov, effects, res


def estimate(data: pd.DataFrame, bandwidth: int = BANDWIDTH) -> Estimate:
    """Fit the regression of :func:`regressors` output (see the module docstring)."""
    years = data.index.get_level_values("year")
    n_years = int(years.nunique())
    if n_years < MIN_YEARS:
        raise ParameterError(f"The estimation sample must span at least {MIN_YEARS} years. Got {n_years} instead.")
    bandwidth = min(bandwidth, n_years - 1)
    params, cov, effects, res = fit(data, bandwidth)
    resid = data["b"] - data[list(REGRESSORS)[:len(params)]].to_numpy() @ params.to_numpy() - effects.reindex(
        data.index.get_level_values("country")).to_numpy()
    dof = len(params) + len(effects)
    positive = data["b_lag"] > 0  # relative to the burden: where there is one
    relative = (resid[positive] / data["b_lag"][positive]).std(ddof=dof)
    return Estimate(params, cov, effects, float(resid.std(ddof=dof)), float(relative), int(res.nobs), n_years,
                    float(res.rsquared_within))


@dataclass
class Calibration:
    """An estimated decision rule and what it was estimated from.

    Attributes:
        estimate: the fitted regression.
        sample: first and last year of the dependent variable.
        countries: the countries in the sample.
        data: the regression data (:func:`regressors`).
        created_utc: when it was estimated.
    """

    estimate: Estimate
    sample: tuple[int, int]
    countries: tuple[str, ...]
    data: pd.DataFrame
    created_utc: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def overrides(self, countries: tuple[str, ...] = COUNTRIES) -> dict[str, float]:
        """Parameter values that make a parameter set run this estimate (every country takes the pooled value)."""
        lr = self.estimate.long_run()["value"]
        return {f"{k}_{c.lower()}": float(lr[k]) for k in ESTIMATED for c in countries}

    def coefficient_table(self) -> pd.DataFrame:
        """One row per coefficient: short-run value, DK standard error, t, long-run counterpart with its
        standard error, and what identifies it."""
        e = self.estimate
        lr = e.long_run()
        names = {"rho": "adjustment_speed", "beta": "threat_sensitivity", "phi": "ally_response"}
        rows = []
        for k in e.params.index:
            rows.append({"coefficient": k, "value": e.params[k], "se": e.se[k], "t": e.params[k] / e.se[k],
                         "long_run": names.get(k, "(control)"),
                         "long_run_value": lr.loc[names[k], "value"] if k in names else np.nan,
                         "long_run_se": lr.loc[names[k], "se"] if k in names else np.nan,
                         "identified": IDENTIFIED[k]})
        return pd.DataFrame(rows)

    def to_toml(self, command: str = "armsrace calibrate") -> str:
        """The ``estimates.toml`` text (see :func:`model.sim.params.estimates` for the keys read)."""
        from model.batch.store import versions

        e = self.estimate
        lr = e.long_run()
        lines = [
            "# Decision-rule estimates of the ea-armsrace model. WRITTEN BY `armsrace calibrate`: do not edit by hand;",
            "# regenerate with `armsrace calibrate --install` (docs/MODEL.md, \"Estimation\").",
            "# b_it = a_i + rho b_i,t-1 + beta threat_it + phi support_it + omega war_it + e_it",
            "# (pooled, country effects; war_it: model/data/wars.csv, a control the simulated rule does not carry)",
            "",
            "[provenance]",
            f'command = "{command}"',
            f'created_utc = "{self.created_utc}"',
            f"sample = [{self.sample[0]}, {self.sample[1]}]",
            "countries = [" + ", ".join(f'"{c}"' for c in self.countries) + "]",
            'data = "SIPRI Military Expenditure Database 2025 (model/data/sipri_milex.csv); '
            'North Korea: WMEAT estimate"',
            'estimator = "linearmodels PanelOLS, entity effects; Driscoll-Kraay covariance (Bartlett kernel)"',
            f"bandwidth = {min(BANDWIDTH, e.n_years - 1)}",
            "versions = {" + ", ".join(f'{k.replace("-", "_")} = "{v}"' for k, v in versions().items()
                                       if k in ("python", "numpy", "pandas", "linearmodels", "ea-armsrace")) + "}",
            "",
            "[fit]",
            f"nobs = {e.nobs}",
            f"years = {e.n_years}",
            f"r2_within = {_num(e.r2_within)}",
            f"resid_sd = {_num(e.resid_sd)}            # share of GDP",
            f"resid_sd_relative = {_num(e.resid_sd_relative)}   # relative to the lagged burden (budget_noise)",
            f"nickell_bias_rho = {_num(e.nickell_bias())}",
            "",
            "[short_run]                      # value and Driscoll-Kraay standard error",
            *(f"{k} = {{ value = {_num(e.params[k])}, se = {_num(e.se[k])} }}" for k in e.params.index),
            "",
            "[long_run]                       # what every country's parameters default to",
            *(f"{k} = {_num(lr.loc[k, 'value'])}" for k in ESTIMATED),
            "",
            "[long_run_se]",
            *(f"{k} = {_num(lr.loc[k, 'se'])}" for k in ESTIMATED),
            "",
            "[draws]                          # joint normal of (rho, beta, phi) for coefficient_draws",
            "mean = [" + ", ".join(_num(v) for v in e.params[list(COEFFICIENTS[:3])]) + "]",
            "covariance = [",
            *("  [" + ", ".join(_num(v) for v in row) + "]," for row in e.rule_cov.to_numpy()),
            "]",
            "",
            "[effects]                        # country intercepts a_i (share of GDP; replaced by anchoring in runs)",
            *(f"{c} = {_num(v)}" for c, v in e.effects.items()),
        ]
        return "\n".join(lines) + "\n"


IDENTIFIED = {
    "rho": "yes: within-country persistence (Nickell bias about (1+rho)/(T-1) downward)",
    "beta": "weakly: within-country co-movement of burden and rivals' spending",
    "phi": "weakly: from the US alliance only (rivals' partnership set to 0 in the regressors)",
    "omega": "yes: Russia's 2022-2024 war years (a control; anchoring absorbs it in runs)",
}


def _num(v: float) -> str:
    if not math.isfinite(v):
        raise ParameterError(f"The estimate is not finite ({v!r}); the sample cannot identify the rule.")
    return repr(float(f"{v:.10g}"))


def calibrate(sample: tuple[int, int] = DEFAULT_SAMPLE, base: Params | None = None,
              hist: pd.DataFrame | None = None, countries: tuple[str, ...] | None = None,
              bandwidth: int = BANDWIDTH, war: bool = True) -> Calibration:
    """Estimate the decision rule on ``sample`` (years of the dependent variable, inclusive).

    Args:
        sample: first and last year; the data must cover ``sample[0] - 1`` (the first lag).
        base: relations for the regressors (default: the defaults; see :func:`estimation_params`).
        hist: history table (default :func:`model.sim.data.history`); tests pass simulated data.
        countries: countries of the panel (default: every country of ``base``; North Korea is
            never in the sample).
        bandwidth: Driscoll-Kraay bandwidth.
        war: include the war control (False: for the robustness comparison only).

    Raises:
        ParameterError: a sample outside the data or shorter than :data:`MIN_YEARS` years.
    """
    first, last = sample
    if last - first + 1 < MIN_YEARS:
        raise ParameterError(f"The estimation sample must span at least {MIN_YEARS} years. "
                             f"Got {first}-{last} instead.")
    countries = tuple((base or Params.from_kwargs()).countries if countries is None else countries)
    panel = build_panel(countries, first - 1, last, hist)
    data = regressors(panel, np.arange(first, last + 1), base)
    if not war:
        data = data.assign(war=0.0)
    return Calibration(estimate(data, bandwidth), (first, last), tuple(c for c in countries if c not in NOT_FITTED),
                       data)


ROBUSTNESS = {
    "1993-2024, war control (shipped)": {},
    "1993-2024, no war control": {"war": False},
    "1993-2021: before Russia's war": {"sample": (1993, 2021)},
    "1993-2024 without Russia": {"countries": ("USA", "JPN", "KOR", "PHL", "CHN", "PRK")},
    "2000-2024: after the 1990s drawdown": {"sample": (2000, 2024)},
}
"""Alternative samples whose estimates show how much the shipped one depends on particular years or countries."""


def robustness(variants: dict[str, dict] = ROBUSTNESS) -> pd.DataFrame:
    """The long-run coefficients (with standard errors) of the rule estimated on each variant sample.

    Returns:
        One row per variant: ``sample``, ``nobs``, and value / se of ``adjustment_speed``,
        ``threat_sensitivity`` and ``ally_response``.
    """
    rows = []
    for label, kw in variants.items():
        cal = calibrate(kw.get("sample", DEFAULT_SAMPLE), countries=kw.get("countries"), war=kw.get("war", True))
        lr = cal.estimate.long_run()
        row = {"sample": label, "nobs": cal.estimate.nobs}
        for k in ESTIMATED:
            row[k] = lr.loc[k, "value"]
            row[f"se_{k}"] = lr.loc[k, "se"]
        rows.append(row)
    return pd.DataFrame(rows)


def write_estimates(cal: Calibration, path: Path, command: str = "armsrace calibrate") -> Path:
    """Write :meth:`Calibration.to_toml` to ``path`` atomically."""
    from model.batch.store import atomic_write

    return atomic_write(Path(path), cal.to_toml(command))
