"""Every model parameter, declared once with its type, bounds, unit and meaning, and validated here.

A parameter has one flat, identifier-like name so that keyword construction
(``ArmsRaceModel(us_demand=0.035)``), ``mesa.batch_run``, SolaraViz sliders, scenario files and
sweep files all address it the same way:

* global parameters: ``us_demand``, ``alliance_credibility``, ...
* per-country parameters: ``<field>_<iso3 lower>``, e.g. ``adjustment_speed_jpn``;
* hostility: ``hostility_<observer>_<source>``, e.g. ``hostility_jpn_chn`` = how much China's
  capability threatens Japan.

Violations raise :class:`ParameterError` with one message form, after scikit-learn's:
``The 'us_demand' parameter must be a number in [0, 0.2]. Got 1.7 instead.``

Defaults come from ``model/data/defaults.toml`` (per-country values and hostility, each with a
one-line justification) and from the declarations below.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from model.errors import ParameterError

COUNTRIES: tuple[str, ...] = ("USA", "JPN", "KOR", "PHL", "CHN", "PRK", "RUS")
"""The seven agents, in the canonical order used by every array (ISO 3166 alpha-3)."""
LEADER = "USA"
ALLIES: tuple[str, ...] = ("JPN", "KOR", "PHL")
RIVALS: tuple[str, ...] = ("CHN", "PRK", "RUS")
BLOC = {"USA": "US alliance", "JPN": "US alliance", "KOR": "US alliance", "PHL": "US alliance",
        "CHN": "rival", "PRK": "rival", "RUS": "rival"}
NAMES = {"USA": "United States", "JPN": "Japan", "KOR": "South Korea", "PHL": "Philippines",
         "CHN": "China", "PRK": "North Korea", "RUS": "Russia"}
REFERENCE_DEMAND = 0.02
"""The burden the US expects of allies before any new demand (NATO's 2014 Wales guideline)."""

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
NEVER = 0
"""Year value meaning "this event never happens" (e.g. ``credibility_shock_year = 0``)."""



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

    def check(self, value: Any) -> Any:
        """Return the value coerced to its type, or raise ParameterError."""
        if value is None and self.optional:
            return None
        ok = True
        if self.kind == "float":
            ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            ok = ok and math.isfinite(float(value)) and self.low <= float(value) <= self.high
            value = float(value) if ok else value
        elif self.kind == "int":
            ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
            if isinstance(value, (float, np.floating)) and float(value).is_integer():
                ok, value = True, int(value)
            ok = ok and self.low <= int(value) <= self.high
            value = int(value) if ok else value
        elif self.kind == "bool":
            ok = isinstance(value, (bool, np.bool_))
            value = bool(value) if ok else value
        elif self.kind == "choice":
            ok = value in self.choices
        elif self.kind == "countries":
            ok = (isinstance(value, (list, tuple)) and len(value) >= 1
                  and all(isinstance(c, str) and c.upper() in COUNTRIES for c in value)
                  and len({c.upper() for c in value}) == len(value))
            if ok:
                value = tuple(c for c in COUNTRIES if c in {v.upper() for v in value})
        if not ok:
            raise ParameterError(
                f"The {self.name!r} parameter must be {self.describe()}. Got {value!r} instead.")
        return value


def _fmt(x: float | None) -> str:
    return f"{x:g}" if x is not None else "?"


# Global parameters. Years use NEVER (0) for "off".
GLOBAL_SPECS: tuple[Spec, ...] = (
    Spec("countries", "countries", COUNTRIES, doc="countries in the run (others are absent)"),
    Spec("start_year", "int", 2024, 1992, 2024, "year", "first year: state taken from SIPRI data"),
    Spec("until", "int", 2040, 1993, 2200, "year", "last simulated year (inclusive)"),
    Spec("threat_model", "choice", "ratio", choices=("ratio", "linear"),
         doc="'ratio': hostile over own-plus-allied capability; 'linear': Richardson, weighted rival burdens"),
    Spec("anchor", "bool", True,
         doc="set each intercept so that the start year is an equilibrium under the default relations"),
    Spec("us_demand", "float", REFERENCE_DEMAND, 0.0, 0.2, "share of GDP",
         "burden the US demands of each ally once the ramp is complete"),
    Spec("us_demand_start", "int", 2025, 1992, 2100, "year", "year the US demand starts to ramp from 2%"),
    Spec("us_demand_year", "int", 2030, 1992, 2100, "year", "year the full US demand applies"),
    Spec("us_insistence", "float", 1.0, 0.0, 5.0, "", "how hard the US presses (scales the demand gap)"),
    Spec("alliance_credibility", "float", 0.8, 0.0, 1.0, "", "credibility of US protection of its allies"),
    Spec("credibility_shock_year", "int", NEVER, 0, 2100, "year", "year credibility drops (0 = never)"),
    Spec("credibility_after", "float", 0.4, 0.0, 1.0, "", "alliance credibility after the shock"),
    Spec("partnership", "float", 0.5, 0.0, 1.0, "",
         "weight with which CHN, PRK and RUS count each other's capability as support"),
    Spec("hostility_scale", "float", 1.0, 0.0, 5.0, "", "multiplier on every hostility weight"),
    Spec("threat_scale", "float", 1.0, 0.0, 10.0, "", "multiplier on every country's threat sensitivity"),
    Spec("counterattack", "bool", False,
         doc="Japan codifies counterattack (strike) capacity: its capability looks more threatening"),
    Spec("counterattack_year", "int", 2026, 1992, 2100, "year", "year the doctrine takes effect"),
    Spec("counterattack_boost", "float", 0.3, 0.0, 2.0, "",
         "relative increase of Japan's capability as seen by its rivals once the doctrine applies"),
    Spec("nato_europe_target", "float", 0.035, 0.0, 0.1, "share of GDP",
         "NATO Europe core defence burden reached in nato_europe_year (Hague 2025: 3.5% core)"),
    Spec("nato_europe_year", "int", 2035, 2025, 2100, "year", "year NATO Europe reaches its target"),
    Spec("nato_europe_start", "float", 0.02, 0.005, 0.1, "share of GDP",
         "NATO Europe burden in 2024 (about 2% on average)"),
    Spec("threat_noise", "float", 0.0, 0.0, 1.0, "log-sd", "lognormal shock on perceived threat each year"),
    Spec("budget_noise", "float", 0.0, 0.0, 0.5, "relative sd",
         "relative shock on each yearly burden change (share of current burden)"),
    Spec("depreciation", "float", 0.08, 0.01, 0.5, "1/year", "capability depreciation rate"),
    Spec("backlash_decay", "float", 0.3, 0.0, 1.0, "1/year", "share of backlash that fades each year"),
    Spec("crowding_out", "float", 0.0, 0.0, 2.0, "",
         "growth lost per unit of burden added since the start (0.5: +2 pp of GDP costs 1 pp of growth)"),
)

# Per-country fields: name -> (kind, fallback default, low, high, unit, doc).
COUNTRY_FIELDS: dict[str, tuple] = {
    "threat_sensitivity": ("float", 0.0, 0.0, 5.0, "burden per unit threat",
                           "rise of desired burden per unit of perceived threat"),
    "adjustment_speed": ("float", 0.25, 0.0, 1.0, "1/year", "share of the gap to the desired burden closed a year"),
    "pressure_response": ("float", 0.0, 0.0, 5.0, "", "rise of desired burden per unit of US pressure"),
    "fiscal_drag": ("float", 0.0, 0.0, 5.0, "", "slows increases by 1 + fiscal_drag x debt"),
    "backlash_gain": ("float", 0.0, 0.0, 20.0, "per pp", "backlash added per percentage point of yearly increase"),
    "theatre_share": ("float", 1.0, 0.01, 1.0, "", "share of capability bearing on the Pacific theatre"),
    "burden_floor": ("float", 0.0, 0.0, 1.0, "share of GDP", "lowest burden"),
    "burden_cap": ("float", 1.0, 0.001, 1.0, "share of GDP", "highest burden (absorptive/political ceiling)"),
    "max_change": ("float", 1.0, 0.0, 1.0, "share of GDP / year", "largest yearly change of burden"),
    "debt": ("float", 0.0, 0.0, 5.0, "share of GDP", "general government gross debt (IMF WEO 2024)"),
    "burden_shifting": ("float", 0.0, 0.0, 5.0, "", "own effort eased per unit of allies' added burden"),
    "floor_target": ("float", 0.0, 0.0, 1.0, "share of GDP",
                     "legislated burden floor reached in floor_year (0 = none)"),
    "floor_year": ("int", 2027, 1992, 2100, "year", "year the legislated floor is reached"),
    "drift": ("float", 0.0, -0.01, 0.01, "share of GDP / year",
              "yearly drift of the desired burden, independent of threat and pressure"),
    "exo_threat": ("float", 0.0, 0.0, 10.0, "threat units",
                   "threat from outside the theatre, scaled by NATO Europe's path"),
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
def specs() -> dict[str, Spec]:
    """All parameter declarations by flat name, defaults filled from the defaults file."""
    table = _defaults_file()
    _check_defaults_file(table)
    out = {s.name: s for s in GLOBAL_SPECS}
    for fname, (kind, fallback, lo, hi, unit, doc) in COUNTRY_FIELDS.items():
        for iso in COUNTRIES:
            default = table.get("countries", {}).get(iso, {}).get(fname, fallback)
            name = country_param(fname, iso)
            out[name] = Spec(name, kind, default, lo, hi, unit, f"{NAMES[iso]}: {doc}",
                             optional=fallback is None)
    for obs in COUNTRIES:
        for src in COUNTRIES:
            if obs != src:
                name = hostility_param(obs, src)
                default = float(table.get("hostility", {}).get(obs, {}).get(src, 0.0))
                out[name] = Spec(name, "float", default, 0.0, 1.0, "",
                                 f"how much {NAMES[src]}'s capability threatens {NAMES[obs]}")
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
                raise ParameterError(f"Unknown parameter {name!r}. Got {value!r} for it; "
                                     f"'armsrace params' lists the parameters.")
            values[name] = table[name].check(value)
        _check_consistency(values)
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


def _check_consistency(v: dict[str, Any]) -> None:
    if v["until"] <= v["start_year"]:
        raise ParameterError(f"The 'until' parameter must be after start_year ({v['start_year']}). "
                             f"Got {v['until']!r} instead.")
    if v["us_demand_year"] < v["us_demand_start"]:
        raise ParameterError(f"The 'us_demand_year' parameter must not be before us_demand_start "
                             f"({v['us_demand_start']}). Got {v['us_demand_year']!r} instead.")
    for iso in v["countries"]:
        lo, hi = v[country_param("burden_floor", iso)], v[country_param("burden_cap", iso)]
        if lo > hi:
            raise ParameterError(f"The {country_param('burden_floor', iso)!r} parameter must not exceed "
                                 f"burden_cap_{iso.lower()} ({hi:g}). Got {lo!r} instead.")
        target = v[country_param("floor_target", iso)]
        if target > hi:
            raise ParameterError(f"The {country_param('floor_target', iso)!r} parameter must not exceed "
                                 f"burden_cap_{iso.lower()} ({hi:g}). Got {target!r} instead.")
