"""Every model parameter, declared once with its type, bounds, unit and meaning, and validated here.

A parameter has one flat, identifier-like name so that keyword construction
(``ArmsRaceModel(us_demand=0.035)``), ``mesa.batch_run``, SolaraViz sliders, scenario files and
sweep files all address it the same way:

* global parameters: ``us_demand``, ``alliance_credibility``, ...
* per-country parameters: ``<field>_<iso3 lower>``, e.g. ``adjustment_speed_jpn``;
* hostility: ``hostility_<observer>_<source>``, e.g. ``hostility_jpn_chn`` = how much China's
  spending threatens Japan.

One validator: :meth:`Spec.invalid` decides, for one value or a whole array of values (a batch of
runs), which values break the declaration; :meth:`Spec.check` (one value) and
:meth:`Spec.check_array` (a batch) both raise through it, and :func:`check_consistency` holds
the cross-field rules for one run or a batch. Violations raise :class:`ParameterError` with one
message form, after scikit-learn's: ``The 'us_demand' parameter must be a number in [0, 0.2].
Got 1.7 instead.``

Defaults come from three files in ``model/data/``: ``estimates.toml`` (the decision-rule
coefficients estimated from the SIPRI panel by ``armsrace calibrate``: adjustment speed, threat
sensitivity and ally response of every country), ``defaults.toml`` (per-country priors and
hostility, each with a one-line justification) and the declarations below (docs/MODEL.md).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from model.errors import ParameterError
from model.sim.dynamics import REFERENCE_DEMAND

COUNTRIES: tuple[str, ...] = ("USA", "JPN", "KOR", "PHL", "CHN", "PRK", "RUS")
"""The seven agents, in the canonical order used by every array (ISO 3166 alpha-3)."""
LEADER = "USA"
ALLIES: tuple[str, ...] = ("JPN", "KOR", "PHL")
RIVALS: tuple[str, ...] = ("CHN", "PRK", "RUS")
BLOC = {"USA": "US alliance", "JPN": "US alliance", "KOR": "US alliance", "PHL": "US alliance",
        "CHN": "rival", "PRK": "rival", "RUS": "rival"}
NAMES = {"USA": "United States", "JPN": "Japan", "KOR": "South Korea", "PHL": "Philippines",
         "CHN": "China", "PRK": "North Korea", "RUS": "Russia"}

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
ESTIMATES_FILE = DATA_DIR / "estimates.toml"
NEVER = 0
"""Year value meaning "this event never happens" (e.g. ``credibility_shock_year = 0``)."""
MAX_SEED = 2**63 - 1
"""Largest seed: seeds are stored in int64 columns."""
ESTIMATED = ("adjustment_speed", "threat_sensitivity", "ally_response")
"""Per-country fields whose defaults come from ``estimates.toml`` (the pooled panel estimate)."""
FALLBACK_ESTIMATES = {"adjustment_speed": 0.15, "threat_sensitivity": 0.0, "ally_response": 0.0}
"""Used only when ``estimates.toml`` is missing (a fresh checkout before ``armsrace calibrate``)."""


@dataclass(frozen=True)
class Spec:
    """Declaration of one parameter.

    Attributes:
        name: flat parameter name.
        kind: "float", "int", "bool", "choice" or "countries".
        default: default value (None: taken from the data at model build time).
        low, high: inclusive bounds for numbers.
        unit: unit shown in help and metadata.
        doc: one-line meaning.
        choices: allowed values for "choice".
        optional: None is allowed (means "use the data").
    """

    name: str
    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    unit: str = ""
    doc: str = ""
    choices: tuple[str, ...] = ()
    optional: bool = False

    def describe(self) -> str:
        if self.kind in ("float", "int"):
            what = "a number" if self.kind == "float" else "an integer"
            return f"{what} in [{_fmt(self.low)}, {_fmt(self.high)}]"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        return "a list of distinct country codes from " + ", ".join(COUNTRIES)

    def error(self, value: Any, where: str = "") -> ParameterError:
        """The one-line error for ``value`` (``where``: e.g. " (run 3)")."""
        return ParameterError(f"The {self.name!r} parameter must be {self.describe()}. Got {value!r} instead{where}.")

    def invalid(self, values: Any) -> np.ndarray:
        """Which of ``values`` (a number or an array of numbers; booleans as 0/1) break this declaration.

        The one rule for numbers, used for a single value (:meth:`check`) and for every run of a
        batch (:meth:`check_array`).
        """
        arr = np.asarray(values, dtype=float)
        if self.kind == "bool":
            return ~np.isin(arr, (0.0, 1.0))
        if self.kind not in ("float", "int"):
            raise TypeError(f"{self.name}: {self.kind} parameters have no numeric form")
        bad = ~np.isfinite(arr) | (arr < self.low) | (arr > self.high)
        if self.kind == "int":
            bad |= arr != np.round(arr)
        return bad

    def check(self, value: Any) -> Any:
        """Return the value coerced to its type, or raise ParameterError."""
        if value is None and self.optional:
            return None
        if self.kind in ("float", "int"):
            numeric = (isinstance(value, (int, float, np.integer, np.floating))
                       and not isinstance(value, (bool, np.bool_)))
            if not numeric or self.invalid(value):
                raise self.error(value)
            return float(value) if self.kind == "float" else int(value)
        if self.kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise self.error(value)
            return bool(value)
        if self.kind == "choice":
            if value not in self.choices:
                raise self.error(value)
            return value
        ok = (isinstance(value, (list, tuple)) and len(value) >= 1
              and all(isinstance(c, str) and c.upper() in COUNTRIES for c in value)
              and len({c.upper() for c in value}) == len(value))
        if not ok:
            raise self.error(value)
        return tuple(c for c in COUNTRIES if c in {v.upper() for v in value})

    def check_array(self, values: Any) -> np.ndarray:
        """Values of a batch (one per run) as float64, or ParameterError naming the first bad one."""
        if self.kind not in ("float", "int", "bool"):
            raise ParameterError(f"The {self.name!r} parameter cannot vary within a batch. "
                                 f"Got {np.ravel(values)[:1].tolist()} (first of {np.size(values)}) instead.")
        try:
            arr = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise self.error(np.ravel(values)[0]) from None
        bad = self.invalid(arr)
        if bad.any():
            raise self.error(arr[bad][0].item())
        return arr


def check_seed(value: Any, name: str = "seed", *, text: bool = False, where: str = "") -> int:
    """The one definition of a valid seed: an integer in [0, 2**63 - 1], returned as an int.

    numpy's ``default_rng`` / ``SeedSequence`` refuse negative integers, and every table stores seeds
    as int64, hence the upper bound. Every entry point checks seeds here (the command line, the
    browser's seed box, experiment files).

    Args:
        value: the seed (an integer; booleans are refused).
        name: the field as the user wrote it: ``"seed"`` (a parameter), ``"--seed"`` (an option) or an
            experiment file's ``"replicates.root_seed"`` (a field, with ``where``).
        text: also accept the text of such an integer (as ``int(text)`` reads it: surrounding spaces
            allowed), as typed on the command line or in the browser; the message then shows the
            integer, or the text if it is none.
        where: the file the field is in (e.g. ``"experiment escalation.toml"``), prefixed to the message.

    Raises:
        ParameterError: one line, ``The 'seed' parameter must be an integer in [0, 2**63 - 1]. Got -1 instead.``
    """
    seed = value
    if text and isinstance(value, str):
        try:
            seed = int(value)  # what argparse's type=int reads, so every command reports the same value
        except ValueError:
            pass
    ok = isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)) and 0 <= seed <= MAX_SEED
    if not ok:
        kind = "option" if name.startswith("--") else "field" if where else "parameter"
        scalar = seed is None or isinstance(seed, (int, float, str, bytes, np.generic))
        got = repr(seed) if scalar else f"a {type(seed).__name__}"  # a SeedSequence's repr spans lines
        message = f"the {name!r} {kind} must be an integer in [0, 2**63 - 1]. Got {got} instead."
        raise ParameterError(f"{where}: {message}" if where else message[0].upper() + message[1:])
    return int(seed)


def _fmt(x: float | None) -> str:
    return f"{x:g}" if x is not None else "?"


# Global parameters. Years use NEVER (0) for "off".
GLOBAL_SPECS: tuple[Spec, ...] = (
    Spec("countries", "countries", COUNTRIES, doc="countries in the run (others are absent)"),
    Spec("start_year", "int", 2024, 1992, 2024, "year", "first year: state taken from SIPRI data"),
    Spec("until", "int", 2040, 1993, 2200, "year", "last simulated year (inclusive)"),
    Spec("threat_model", "choice", "log", choices=("log", "linear"),
         doc="'log': log of hostility-weighted rival spending (estimated); "
             "'linear': Richardson, weighted rival burdens"),
    Spec("anchor", "bool", True,
         doc="each country's intercept makes the start year its rest point under the reference relations "
             "(the device the backtest scores); false: intercept = baseline_burden"),
    Spec("us_demand", "float", REFERENCE_DEMAND, 0.0, 0.2, "share of GDP",
         "burden the US demands of each ally once the ramp is complete"),
    Spec("us_demand_start", "int", 2025, 1992, 2100, "year", "year the US demand starts to ramp from 2%"),
    Spec("us_demand_year", "int", 2030, 1992, 2100, "year", "year the full US demand applies"),
    Spec("us_insistence", "float", 1.0, 0.0, 5.0, "", "how hard the US presses (scales the demand gap)"),
    Spec("alliance_credibility", "float", 0.8, 0.0, 1.0, "",
         "credibility of US protection: the weight with which allies count US spending as support"),
    Spec("credibility_shock_year", "int", NEVER, 0, 2100, "year", "year credibility drops (0 = never)"),
    Spec("credibility_after", "float", 0.4, 0.0, 1.0, "", "alliance credibility after the shock"),
    Spec("partnership", "float", 0.0, 0.0, 1.0, "",
         "weight with which CHN, PRK and RUS count each other's spending as support (0: as estimated; "
         "the panel cannot identify it)"),
    Spec("hostility_scale", "float", 1.0, 0.0, 5.0, "", "multiplier on every hostility weight"),
    Spec("threat_scale", "float", 1.0, 0.0, 100.0, "", "multiplier on every country's threat sensitivity"),
    Spec("counterattack", "bool", False,
         doc="Japan codifies counterattack (strike) capacity: its spending looks more threatening"),
    Spec("counterattack_year", "int", 2026, 1992, 2100, "year", "year the doctrine takes effect"),
    Spec("counterattack_boost", "float", 0.3, 0.0, 2.0, "",
         "relative increase of Japan's spending as seen by its rivals once the doctrine applies"),
    Spec("nato_europe_target", "float", 0.035, 0.0, 0.1, "share of GDP",
         "NATO Europe core defence burden reached in nato_europe_year (Hague 2025: 3.5% core)"),
    Spec("nato_europe_year", "int", 2035, 2025, 2100, "year", "year NATO Europe reaches its target"),
    Spec("nato_europe_start", "float", 0.02, 0.005, 0.1, "share of GDP",
         "NATO Europe burden in 2024 (about 2% on average)"),
    Spec("threat_noise", "float", 0.0, 0.0, 1.0, "log-sd", "lognormal shock on perceived threat each year"),
    Spec("budget_noise", "float", 0.0, 0.0, 0.5, "relative sd",
         "shock on each yearly burden change, as a share of the current burden"),
    Spec("coefficient_draws", "bool", False,
         doc="draw the estimated coefficients (adjustment speed, threat sensitivity, ally response) once per "
             "run from their estimated joint normal distribution (the run's own generator)"),
    Spec("prk_draws", "bool", False,
         doc="draw North Korea's start burden and GDP once per run, uniformly within the published ranges"),
    Spec("prk_burden_low", "float", 0.15, 0.01, 0.6, "share of GDP",
         "lowest published estimate of North Korea's burden (WMEAT 2021: more than 15% in 2019)"),
    Spec("prk_burden_high", "float", 0.35, 0.01, 0.6, "share of GDP",
         "highest published estimate (KIDA: US$8.8 bn against a GNI of about US$25 bn in 2009)"),
    Spec("prk_gdp_low", "float", 15.0, 1.0, 100.0, "US$ bn",
         "lowest estimate of North Korea's GDP (WMEAT 2016: about US$15 bn, 2004-2014)"),
    Spec("prk_gdp_high", "float", 31.0, 1.0, 100.0, "US$ bn",
         "highest estimate (Bank of Korea: GNI 40.9 trillion won in 2023, about US$31 bn)"),
    Spec("depreciation", "float", 0.08, 0.01, 0.5, "1/year", "capability depreciation rate"),
    Spec("backlash_decay", "float", 0.3, 0.0, 1.0, "1/year", "share of backlash that fades each year"),
    Spec("crowding_out", "float", 0.0, 0.0, 2.0, "",
         "growth lost per unit of burden added since the start (0.5: +2 pp of GDP costs 1 pp of growth)"),
)

# Per-country fields: name -> (kind, fallback default, low, high, unit, doc). The fallback of the
# ESTIMATED fields is replaced by the estimate (see specs()).
COUNTRY_FIELDS: dict[str, tuple] = {
    "adjustment_speed": ("float", 0.15, 0.0, 1.0, "1/year",
                         "share of the gap to the desired burden closed a year (1 - persistence; estimated)"),
    "threat_sensitivity": ("float", 0.0, -0.05, 5.0, "burden per unit threat",
                           "rise of the desired burden per unit of threat (log model: per log point of "
                           "hostile spending; estimated)"),
    "ally_response": ("float", 0.0, -1.0, 1.0, "burden per log point",
                      "rise of the desired burden per log point of allied support (negative: free riding; estimated)"),
    "pressure_response": ("float", 0.0, 0.0, 5.0, "",
                          "rise of the desired burden per unit of US pressure (prior: not identified)"),
    "threat_saturation": ("float", 0.0, 0.0, 10.0, "log points",
                          "threat above the start-year level saturates at this scale (deterrence; 0 = never)"),
    "fiscal_drag": ("float", 0.0, 0.0, 5.0, "", "slows increases by 1 + fiscal_drag x debt (prior, off)"),
    "backlash_gain": ("float", 0.0, 0.0, 20.0, "per pp",
                      "backlash added per percentage point of yearly increase (prior, off)"),
    "theatre_share": ("float", 1.0, 0.01, 1.0, "", "share of spending bearing on the Pacific theatre"),
    "burden_floor": ("float", 0.0, 0.0, 1.0, "share of GDP", "lowest burden"),
    "burden_cap": ("float", 1.0, 0.001, 1.0, "share of GDP", "highest burden (absorptive/political ceiling)"),
    "max_change": ("float", 1.0, 0.0, 1.0, "share of GDP / year", "largest yearly change of burden"),
    "debt": ("float", 0.0, 0.0, 5.0, "share of GDP", "general government gross debt (IMF WEO 2024)"),
    "burden_shifting": ("float", 0.0, 0.0, 5.0, "", "own effort eased per unit of allies' added burden"),
    "floor_target": ("float", 0.0, 0.0, 1.0, "share of GDP",
                     "legislated burden floor reached in floor_year, in the country's own measure (0 = none)"),
    "floor_year": ("int", 2027, 1992, 2100, "year", "year the legislated floor is reached"),
    "measure_factor": ("float", 1.0, 0.1, 2.0, "",
                       "SIPRI-basis burden per unit of the country's own measure (applied to floor_target)"),
    "exo_threat": ("float", 0.0, 0.0, 10.0, "",
                   "threat from outside the theatre: log points per unit relative rise of NATO Europe's burden"),
    "growth": ("float", None, -0.2, 0.2, "1/year", "real GDP growth (default: WDI mean 2015-2024)"),
    "initial_burden": ("float", None, 0.0, 1.0, "share of GDP", "start burden (default: SIPRI)"),
    "baseline_burden": ("float", None, 0.0, 1.0, "share of GDP",
                        "intercept of the desired burden when anchor is false (default: start burden)"),
}


def country_param(field_name: str, iso: str) -> str:
    return f"{field_name}_{iso.lower()}"


def hostility_param(observer: str, source: str) -> str:
    return f"hostility_{observer.lower()}_{source.lower()}"


@cache
def _defaults_file() -> dict:
    with open(DATA_DIR / "defaults.toml", "rb") as fh:
        return tomllib.load(fh)


@cache
def policy_targets() -> dict[tuple[str, str], float]:
    """Stated policy targets (``model/data/policy_targets.csv``): (actor, variable) -> value (percent of GDP).

    The defaults of Japan's legislated floor (2%, in Japan's own measure) and of NATO Europe's
    target (3.5% core by 2035) are read from here, so the file is the one source of those numbers.
    """
    import csv

    with open(DATA_DIR / "policy_targets.csv", newline="", encoding="utf-8") as fh:
        return {(row["actor"], row["variable"]): float(row["value"]) for row in csv.DictReader(fh)}


POLICY_DEFAULTS = {
    "floor_target_jpn": ("JPN", "defense_related_spending_share_gdp_target", 0.01),
    "nato_europe_target": ("NATO", "core_defence_spending_share_gdp", 0.01),
}
"""Parameter -> (actor, variable, factor) of its default in ``policy_targets.csv`` (percent -> share)."""


@cache
def estimates() -> dict[str, Any] | None:
    """The estimated decision rule (``model/data/estimates.toml``, written by ``armsrace calibrate``), or None.

    Keys used here: ``long_run`` (adjustment_speed, threat_sensitivity, ally_response: the pooled
    estimates that every country's default takes) and ``draws`` (``mean`` and ``covariance`` of
    the same three, in that order, for :func:`coefficient_draw`).
    """
    if not ESTIMATES_FILE.is_file():
        return None
    try:
        with open(ESTIMATES_FILE, "rb") as fh:
            table = tomllib.load(fh)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ParameterError(f"The estimates file {str(ESTIMATES_FILE)!r} cannot be read: {exc}.") from None
    missing = [k for k in ESTIMATED if k not in table.get("long_run", {})]
    if missing:
        raise ParameterError(f"The estimates file {str(ESTIMATES_FILE)!r} has no long_run.{missing[0]}; "
                             f"regenerate it with 'armsrace calibrate --install'.")
    return table


def estimated_defaults() -> dict[str, float]:
    """The pooled long-run coefficients every country starts from (the estimate, or the fallback)."""
    est = estimates()
    if est is None:
        return dict(FALLBACK_ESTIMATES)
    return {k: float(est["long_run"][k]) for k in ESTIMATED}


@cache
def specs() -> dict[str, Spec]:
    """All parameter declarations by flat name, defaults filled from the estimates and defaults files."""
    table = _defaults_file()
    _check_defaults_file(table)
    pooled = estimated_defaults()
    out = {s.name: s for s in GLOBAL_SPECS}
    for fname, (kind, fallback, lo, hi, unit, doc) in COUNTRY_FIELDS.items():
        for iso in COUNTRIES:
            default = table.get("countries", {}).get(iso, {}).get(fname, pooled.get(fname, fallback))
            name = country_param(fname, iso)
            out[name] = Spec(name, kind, default, lo, hi, unit, f"{NAMES[iso]}: {doc}",
                             optional=fallback is None)
    for obs in COUNTRIES:
        for src in COUNTRIES:
            if obs != src:
                name = hostility_param(obs, src)
                default = float(table.get("hostility", {}).get(obs, {}).get(src, 0.0))
                out[name] = Spec(name, "float", default, 0.0, 1.0, "",
                                 f"how much {NAMES[src]}'s spending threatens {NAMES[obs]}")
    targets = policy_targets()
    for name, (actor, variable, factor) in POLICY_DEFAULTS.items():
        out[name] = replace(out[name], default=targets[(actor, variable)] * factor)
    return out


def _check_defaults_file(table: dict) -> None:
    """A misspelt key in defaults.toml would silently fall back to a built-in value: refuse it."""
    where = str(DATA_DIR / "defaults.toml")
    for key in table:
        if key not in ("countries", "hostility"):
            raise ParameterError(f"{where}: unknown section {key!r}.")
    for iso, fields in table.get("countries", {}).items():
        if iso not in COUNTRIES:
            raise ParameterError(f"{where}: unknown country {iso!r} in [countries].")
        for name in fields:
            if name not in COUNTRY_FIELDS:
                raise ParameterError(f"{where}: unknown field 'countries.{iso}.{name}'.")
    for obs, sources in table.get("hostility", {}).items():
        for iso in (obs, *sources):
            if iso not in COUNTRIES:
                raise ParameterError(f"{where}: unknown country {iso!r} in [hostility].")


@dataclass(frozen=True)
class Params:
    """A complete, validated parameter set. Build with :meth:`from_kwargs`; read with ``p[name]``.

    ``values`` maps every flat name in :func:`specs` to its checked value.
    """

    values: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_kwargs(cls, **overrides: Any) -> Params:
        """Defaults updated with ``overrides``; every name and value is checked."""
        table = specs()
        values = {name: spec.default for name, spec in table.items()}
        for name, value in overrides.items():
            if name not in table:
                hint = " (the model's seed is rng=, as in Mesa)" if name == "seed" else ""
                raise ParameterError(f"Unknown parameter {name!r}{hint}. Got {value!r} for it; "
                                     f"'armsrace params' lists the parameters.")
            values[name] = table[name].check(value)
        check_consistency(lambda k: values[k], values["countries"])
        return cls(values)

    def replace(self, **overrides: Any) -> Params:
        return Params.from_kwargs(**{**self.overrides(), **overrides})

    def overrides(self) -> dict[str, Any]:
        """Only the values that differ from the defaults."""
        table = specs()
        return {k: v for k, v in self.values.items() if v != table[k].default}

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    @property
    def countries(self) -> tuple[str, ...]:
        return self.values["countries"]

    def country(self, field_name: str, iso: str) -> Any:
        return self.values[country_param(field_name, iso)]


def check_consistency(get: Callable[[str], Any], countries: tuple[str, ...]) -> None:
    """The cross-field rules, for one parameter set or every run of a batch.

    Args:
        get: flat name -> value (a number) or values (an array ``(R,)``, one per run).
        countries: the countries of the run(s).

    Raises:
        ParameterError: the first broken rule, naming the run when values vary (" (run r)").
    """
    def first(bad: np.ndarray) -> tuple[int | None, str]:
        if bad.ndim == 0:
            return None, ""
        r = int(np.flatnonzero(bad)[0])
        return r, f" (run {r})"

    def at(v: Any, r: int | None) -> Any:
        a = np.asarray(v)
        return a.item() if a.ndim == 0 else a[r].item()

    rules: list[tuple[str, str, str]] = [
        ("until", "start_year", "be after start_year ({ref})"),
        ("us_demand_year", "us_demand_start", "not be before us_demand_start ({ref})"),
        ("prk_burden_high", "prk_burden_low", "not be below prk_burden_low ({ref})"),
        ("prk_gdp_high", "prk_gdp_low", "not be below prk_gdp_low ({ref})"),
    ]
    for name, ref_name, text in rules:
        value, ref = np.asarray(get(name), float), np.asarray(get(ref_name), float)
        bad = value <= ref if name == "until" else value < ref
        if bad.any():
            r, where = first(np.broadcast_to(bad, np.broadcast_shapes(value.shape, ref.shape)))
            raise ParameterError(f"The {name!r} parameter must {text.format(ref=_num(at(ref, r)))}. "
                                 f"Got {_num(at(value, r))!r} instead{where}.")
    for iso in countries:
        cap_name = country_param("burden_cap", iso)
        cap = np.asarray(get(cap_name), float)
        floor_name, target_name = country_param("burden_floor", iso), country_param("floor_target", iso)
        factor = np.asarray(get(country_param("measure_factor", iso)), float)
        for name, value in ((floor_name, np.asarray(get(floor_name), float)),
                            (target_name, np.asarray(get(target_name), float) * factor)):
            bad = value > cap
            if bad.any():
                r, where = first(np.broadcast_to(bad, np.broadcast_shapes(value.shape, cap.shape)))
                shown = at(get(name), r)
                what = "" if name == floor_name else " on SIPRI's basis (x measure_factor)"
                raise ParameterError(f"The {name!r} parameter must not exceed {cap_name} ({at(cap, r):g}){what}. "
                                     f"Got {shown!r} instead{where}.")


def _num(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v


def coefficient_draw(z: np.ndarray) -> dict[str, np.ndarray]:
    """Shifts of the estimated long-run coefficients for standard normal draws ``z`` (``(..., 3)``).

    The short-run coefficients (persistence rho, threat beta, ally phi) are drawn as
    ``mean + L z`` with ``L`` the Cholesky factor of their estimated covariance; the long-run
    coefficients follow (adjustment speed ``1 - rho``, sensitivity ``beta / (1 - rho)``, ally
    response ``phi / (1 - rho)``). Returned as shifts from the point estimates (a scenario's own
    values move by the same amount).

    Returns:
        field name (of :data:`ESTIMATED`) -> shift, shape ``z.shape[:-1]``; zeros when no estimate ships.
    """
    z = np.asarray(z, dtype=float)
    est = estimates()
    if est is None:
        return {k: np.zeros(z.shape[:-1]) for k in ESTIMATED}
    mean = np.asarray(est["draws"]["mean"], float)
    chol = np.linalg.cholesky(np.asarray(est["draws"]["covariance"], float))
    # an elementwise sum, not z @ chol.T: BLAS rounds a batch and a single run differently in the last bit
    rho, beta, phi = np.moveaxis(mean + (z[..., None, :] * chol).sum(axis=-1), -1, 0)
    speed = np.clip(1.0 - rho, 0.01, 1.0)
    point = estimated_defaults()
    return {"adjustment_speed": speed - point["adjustment_speed"],
            "threat_sensitivity": beta / speed - point["threat_sensitivity"],
            "ally_response": phi / speed - point["ally_response"]}


def validated_batch(base: Params, varied: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """``varied`` checked run by run (names, bounds, structural names, one shape), as float arrays.

    Raises:
        ParameterError: unknown or structural name, a value out of bounds, mismatched shapes, or a
            broken cross-field rule (naming the run).
    """
    table = specs()
    out: dict[str, np.ndarray] = {}
    n_runs = None
    for name, values in varied.items():
        first = np.ravel(values)[0] if np.size(values) else None
        if name not in table:
            raise ParameterError(f"Unknown parameter {name!r}. Got {first!r} (first of {np.size(values)}) for it.")
        if name in STRUCTURAL:
            raise ParameterError(f"The {name!r} parameter cannot vary within a batch. "
                                 f"Got {first!r} (first of {np.size(values)}) instead.")
        arr = table[name].check_array(values)
        if n_runs is not None and arr.shape != (n_runs,):
            raise ParameterError(f"The {name!r} values must have shape ({n_runs},). Got {arr.shape} instead.")
        n_runs = arr.shape[0] if arr.ndim else None
        out[name] = arr
    if out:
        check_consistency(lambda k: out[k] if k in out else base[k], base.countries)
    return out


STRUCTURAL = ("countries", "start_year", "until", "threat_model", "anchor")
"""Parameters that must be the same for every run of a batch (they set array shapes or code paths)."""
DRAW_SWITCHES = ("threat_noise", "budget_noise", "coefficient_draws", "prk_draws")
"""The parameters that switch a run's random draws on (shock scales, draw flags; 0 = off): with all of
them 0 the draws are never read (:func:`model.sim.counterfactual.has_draws`)."""
RANDOMNESS = (*DRAW_SWITCHES, "prk_burden_low", "prk_burden_high", "prk_gdp_low", "prk_gdp_high")
"""What a run's randomness is made of: a counterfactual always keeps the run's own (docs/MODEL.md, "Outcomes")."""
START = ("initial_burden", "growth")
"""Per-country start data a counterfactual keeps (the run and its counterfactual start from the same state)."""


def kept_by_counterfactual(name: str) -> bool:
    """True for parameters a counterfactual keeps from its run: structure, randomness and start data."""
    return name in STRUCTURAL or name in RANDOMNESS or any(name.startswith(f"{f}_") for f in START)


def counterfactual(params: Params) -> Params:
    """A single run's counterfactual: the baseline, with the run's structure, randomness and start data.

    Every other parameter -- levers, relations, coefficients, priors -- takes its baseline
    (default) value, so the classes measure everything the run changed, however it is written
    (``threat_scale=8`` and every ``threat_sensitivity_<iso>`` times 8 give the same class). The
    counterfactual run with the same seed sees the same shocks and draws.
    """
    return Params.from_kwargs(**{k: v for k, v in params.overrides().items() if kept_by_counterfactual(k)})
