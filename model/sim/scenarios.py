"""Scenario files: ``experiments/scenarios/NAME.toml``, a named, documented parameter set.

Format::

    [scenario]
    description = "one line shown by 'armsrace scenarios'"
    claim = "the claim of the source article this scenario encodes"

    [parameters]          # global parameters by flat name
    us_demand = 0.035

    [countries.JPN]       # per-country fields (-> adjustment_speed_jpn, ...)
    adjustment_speed = 0.1

    [hostility.JPN]       # how much each source threatens the observer (-> hostility_jpn_chn)
    CHN = 0.8

Every key is checked; errors are :class:`~model.sim.params.ParameterError` with one line that names
the file, the field and the value.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.errors import ParameterError
from model.sim.params import COUNTRIES, COUNTRY_FIELDS, Params, country_param, hostility_param

EXPERIMENTS_DIR = Path(__file__).resolve().parents[2] / "experiments"
SCENARIO_DIR = EXPERIMENTS_DIR / "scenarios"
"""The shipped scenarios, beside the package in a clone (the README installs it editable)."""
SECTIONS = ("scenario", "parameters", "countries", "hostility")


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario: its name, source file, texts and validated parameters."""

    name: str
    path: Path
    description: str
    claim: str
    params: Params


def experiments_dir() -> Path:
    """The experiment files' folder: the clone's, or ``./experiments`` for a non-editable install
    (``experiments/`` is not part of the package)."""
    return EXPERIMENTS_DIR if EXPERIMENTS_DIR.is_dir() else Path.cwd() / "experiments"


def scenario_dir() -> Path:
    """The scenario folder: the clone's, or ``./experiments/scenarios`` for a non-editable install."""
    if SCENARIO_DIR.is_dir():
        return SCENARIO_DIR
    return Path.cwd() / "experiments" / "scenarios"


def list_scenarios() -> list[Scenario]:
    """Every scenario in ``experiments/scenarios/``, by name (ParameterError at the first bad file)."""
    return [load_scenario(p) for p in sorted(scenario_dir().glob("*.toml"))]


def scan_scenarios() -> tuple[list[Scenario], list[ParameterError]]:
    """Every scenario in ``experiments/scenarios/`` that loads, by name, and the error of each that does not
    (so that one bad file does not hide the others)."""
    good, bad = [], []
    for p in sorted(scenario_dir().glob("*.toml")):
        try:
            good.append(load_scenario(p))
        except ParameterError as exc:
            bad.append(exc)
    return good, bad


def resolve(name_or_path: str | Path) -> Path:
    """Path of a scenario given its name or a path to a TOML file."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.is_file():
        if not p.is_file():
            raise ParameterError(f"The scenario file {str(p)!r} does not exist.")
        return p
    candidate = scenario_dir() / f"{name_or_path}.toml"
    if not candidate.is_file():
        names = ", ".join(sorted(q.stem for q in scenario_dir().glob("*.toml")))
        raise ParameterError(f"Unknown scenario {str(name_or_path)!r}; known scenarios: {names}.")
    return candidate


def flatten(doc: dict[str, Any], where: str) -> dict[str, Any]:
    """Flat parameter names from the ``parameters``, ``countries`` and ``hostility`` tables."""
    flat: dict[str, Any] = dict(_table(doc, "parameters", where))
    for iso in _table(doc, "countries", where):
        iso_u = _country(iso, f"[countries.{iso}]", where)
        for key, value in _table(doc["countries"], iso, where, f"countries.{iso}").items():
            if key not in COUNTRY_FIELDS:
                raise ParameterError(f"{where}: unknown field 'countries.{iso}.{key}'. Got {value!r}; "
                                     f"known fields: {', '.join(COUNTRY_FIELDS)}.")
            flat[country_param(key, iso_u)] = value
    for obs in _table(doc, "hostility", where):
        obs_u = _country(obs, f"[hostility.{obs}]", where)
        for src, value in _table(doc["hostility"], obs, where, f"hostility.{obs}").items():
            src_u = _country(src, f"hostility.{obs}.{src}", where)
            if src_u == obs_u:
                raise ParameterError(f"{where}: 'hostility.{obs}.{src}' is a country's hostility to itself. "
                                     f"Got {value!r}.")
            flat[hostility_param(obs_u, src_u)] = value
    return flat


def _table(doc: dict, key: str, where: str, label: str | None = None) -> dict:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise ParameterError(f"{where}: '{label or key}' must be a table. Got {value!r} instead.")
    return value


def _country(code: str, field: str, where: str) -> str:
    if code.upper() not in COUNTRIES:
        raise ParameterError(f"{where}: unknown country {code!r} in {field}; "
                             f"known: {', '.join(COUNTRIES)}.")
    return code.upper()


def read_toml(path: Path, what: str = "scenario") -> dict[str, Any]:
    """A TOML file as a dict; ParameterError (one line naming the file) if it cannot be read, is not
    UTF-8 text (TOML files are UTF-8: a binary file, a Latin-1 byte in a comment) or is not TOML."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"The {what} file {str(path)!r} is not valid TOML: {exc}.") from None
    except UnicodeDecodeError as exc:
        raise ParameterError(f"The {what} file {str(path)!r} is not UTF-8 text, as TOML must be: byte "
                             f"0x{exc.object[exc.start]:02x} at position {exc.start} (line "
                             f"{exc.object[:exc.start].count(b'\n') + 1}). Save it as UTF-8.") from None
    except OSError as exc:
        raise ParameterError(f"The {what} file {str(path)!r} cannot be read: {exc.strerror or exc}.") from None


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load and validate a scenario by name or path.

    Raises:
        ParameterError: unknown scenario, unreadable or malformed TOML, unknown section, field or
            country, or a value out of bounds (the message names the file and the field).
    """
    path = resolve(name_or_path)
    doc = read_toml(path)
    where = f"scenario {path.name}"
    for key in doc:
        if key not in SECTIONS:
            raise ParameterError(f"{where}: unknown section {key!r}; expected {', '.join(SECTIONS)}.")
    meta = _table(doc, "scenario", where)
    try:
        params = Params.from_kwargs(**flatten(doc, where))
    except ParameterError as exc:
        if str(exc).startswith(where):
            raise
        raise ParameterError(f"{where}: {exc}") from None
    return Scenario(name=path.stem, path=path, description=str(meta.get("description", "")),
                    claim=str(meta.get("claim", "")), params=params)
