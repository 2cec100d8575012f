"""Experiment files: ``experiments/*.toml``, a batch of runs declared as data.

An experiment names a base scenario, the parameters it varies and how (a list of values, or a
range with a distribution), the design that turns them into design points (full grid, Latin
hypercube, or Sobol/Saltelli), the replicates and their seeds, the horizon and what to keep.
Format (every section but ``[parameters]`` is optional)::

    [experiment]
    description = "one line"
    base = "baseline"        # scenario name, or a .toml path (relative to this file or the cwd)
    until = 2040             # last simulated year (default: the base scenario's)

    [fixed]                  # parameters set for every run, over the base scenario
    threat_noise = 0.05

    [parameters]             # the varied parameters, by flat name ('armsrace params')
    us_demand = [0.02, 0.035, 0.05]                                  # a list of values
    threat_sensitivity_chn = { low = 0.0, high = 0.02, steps = 5 }   # grid: evenly spaced
    threat_scale = { low = 0.5, high = 2.0, distribution = "loguniform" }
    depreciation = { low = 0.04, high = 0.12, distribution = "normal", mean = 0.08, sd = 0.02 }

    [design]
    kind = "grid"            # "grid" | "lhs" | "sobol"
    samples = 200            # lhs: number of design points
    n = 64                   # sobol: base sample size N (a power of 2)
    second_order = true      # sobol: also second-order indices (N*(2D+2) points, else N*(D+2))
    seed = 1                 # lhs / sobol sampler seed (default 0)
    max_runs = 20_000_000    # refuse designs of more runs than this (default 10,000,000; see below)

    [replicates]
    count = 4                # runs per design point
    root_seed = 2025         # per-run seeds spawned from it (see below); or
    # seeds = [11, 12, 13, 14]   # one seed per replicate, the same at every design point

    [keep]
    paths = true             # write per agent-year paths (agents/); false: per-run table only
    variables = ["burden", "spending"]   # which path variables (default: all seven)

Designs. ``grid``: the Cartesian product of every parameter's values, in the order of the
``[parameters]`` table, the last parameter varying fastest; a range needs ``steps`` (evenly spaced
values; geometrically for ``loguniform``). ``lhs``: ``scipy.stats.qmc.LatinHypercube`` (scrambled,
seeded) on the unit cube; ``sobol``: ``SALib.sample.sobol.sample`` (Saltelli's scheme, scrambled,
seeded). Both map the unit cube through each range's distribution with SALib's
``scale_samples``: ``uniform`` on [low, high], ``loguniform`` on [low, high] (low > 0), ``normal``
(mean, sd) truncated to [low, high]. Integer parameters are rounded to the nearest integer after
scaling (a grid range whose rounded values repeat is refused, as a list that repeats a value is).
Lists of values are for grids only; ``[design] seed`` is for LHS and Sobol only.

Size. The number of runs (design points x replicates) is computed from the file before any point is
drawn or held: a grid's points are the product of its value counts, an LHS design has ``samples``
points, a Sobol design ``n * (2D + 2)`` (``n * (D + 2)`` without second order). A design of more than
``[design] max_runs`` runs (default :data:`DEFAULT_MAX_RUNS`, 10 million: about what one machine
holds and writes in a sweep) is refused with its size, before anything is allocated; raise the key
to run a larger one on purpose.

Runs and seeds. Run ids are design-point-major: ``run = design_point * replicates + replicate``.
With ``root_seed``, run ``i`` has seed ``SeedSequence(root_seed).spawn(n_runs)[i].generate_state(1)[0]``
(computed as ``SeedSequence(root_seed, spawn_key=(i,))``, which is the same child without
spawning the others), so a seed depends on the run id only: never on chunking, workers or
engine. With ``seeds = [...]``, replicate ``r`` uses ``seeds[r]`` at every design point (common
random numbers across design points).

Every key and value is checked; errors are :class:`~model.sim.params.ParameterError` with one line
naming the file, the field and the value, like scenario errors.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.errors import ParameterError
from model.sim.inputs import STRUCTURAL, build_inputs
from model.sim.params import COUNTRIES, Params, check_seed, specs
from model.sim.scenarios import load_scenario, read_toml
from model.sim.units import AGENT_VARS

DESIGNS = ("grid", "lhs", "sobol")
DISTRIBUTIONS = {"uniform": "unif", "loguniform": "logunif", "normal": "truncnorm"}
"""Distribution names in experiment files -> SALib distribution codes."""
SECTIONS = {
    "experiment": ("description", "base", "until"),
    "fixed": None,
    "parameters": None,
    "design": ("kind", "samples", "n", "second_order", "seed", "max_runs"),
    "replicates": ("count", "root_seed", "seeds"),
    "keep": ("paths", "variables"),
}
RANGE_KEYS = ("low", "high", "distribution", "steps", "mean", "sd")
DEFAULT_MAX_RUNS = 10_000_000
"""Largest design (runs = design points x replicates) accepted unless ``[design] max_runs`` says more: ten
million runs take some minutes and a few GB of results; a 10^9-run design would exhaust memory in the
design table alone."""
_VALIDATE_BLOCK = 20_000
"""Design points validated through build_inputs at once (bounds memory during validation)."""


@dataclass(frozen=True)
class Varied:
    """How one parameter varies.

    Attributes:
        name: flat parameter name.
        values: explicit values (lists), or None for a range.
        low, high: range bounds (inclusive), in the parameter's unit.
        distribution: "uniform", "loguniform" or "normal" (truncated to [low, high]).
        steps: number of grid values over the range (grid design only).
        mean, sd: of the normal distribution before truncation.
    """

    name: str
    values: tuple | None = None
    low: float | None = None
    high: float | None = None
    distribution: str = "uniform"
    steps: int | None = None
    mean: float | None = None
    sd: float | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.values is not None:
            return {"values": list(self.values)}
        out: dict[str, Any] = {"low": self.low, "high": self.high, "distribution": self.distribution}
        for key in ("steps", "mean", "sd"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def salib_bounds(self) -> list[float]:
        if self.distribution == "normal":
            return [self.low, self.high, self.mean, self.sd]
        return [self.low, self.high]

    def grid_values(self) -> np.ndarray:
        if self.values is not None:
            return np.asarray(self.values)
        if self.distribution == "loguniform":
            return np.geomspace(self.low, self.high, self.steps)
        return np.linspace(self.low, self.high, self.steps)


@dataclass(frozen=True)
class Experiment:
    """A validated experiment file.

    Attributes:
        path: the experiment file.
        name: its stem (default output folder ``results/<name>``).
        description: one line.
        base_scenario: the base scenario as written (name or path).
        base: the parameters shared by every run (base scenario + ``[fixed]`` + ``until``).
        kind: "grid", "lhs" or "sobol".
        varied: the varied parameters, in file order.
        samples: lhs sample count; n, second_order: Sobol base size and second-order flag.
        design_seed: seed of the lhs / Sobol sampler.
        replicates: runs per design point.
        root_seed: root of the per-run seeds, or None when ``seeds`` lists them per replicate.
        seed_list: one seed per replicate, or None.
        keep_paths: write per agent-year paths.
        variables: kept path variables.
        content: the parsed, normalised file content (recorded in the sweep manifest).
    """

    path: Path
    name: str
    description: str
    base_scenario: str
    base: Params
    kind: str
    varied: tuple[Varied, ...]
    samples: int | None
    n: int | None
    second_order: bool
    design_seed: int
    replicates: int
    root_seed: int | None
    seed_list: tuple[int, ...] | None
    keep_paths: bool
    variables: tuple[str, ...]
    content: dict[str, Any] = field(repr=False)

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.varied]

    @cached_property
    def points(self) -> pd.DataFrame:
        """Design points, one row each (index = design point), one column per varied parameter."""
        return design_points(self)

    @property
    def n_points(self) -> int:
        return len(self.points)

    @property
    def n_runs(self) -> int:
        return self.n_points * self.replicates

    @cached_property
    def problem(self) -> dict[str, Any]:
        """SALib problem (names, bounds, distributions) of the ranges; empty for grids."""
        if self.kind == "grid":
            return {}
        return {"num_vars": len(self.varied), "names": self.names,
                "bounds": [v.salib_bounds() for v in self.varied],
                "dists": [DISTRIBUTIONS[v.distribution] for v in self.varied]}

    def design_record(self) -> dict[str, Any]:
        """The manifest's ``design`` entry."""
        out: dict[str, Any] = {"kind": self.kind, "varied": self.names, "n_points": self.n_points}
        if self.kind == "lhs":
            out.update(samples=self.samples, seed=self.design_seed)
        if self.kind == "sobol":
            out.update(problem=self.problem, n=self.n, calc_second_order=self.second_order,
                       seed=self.design_seed)
        return out

    def with_sample_size(self, n: int) -> Experiment:
        """The same Sobol experiment with another base sample size ``n`` (a power of 2 >= 2).

        Everything else (parameters, ranges, design seed, replicates, run seeds) stays the file's;
        the content recorded in a manifest says the new ``n``. For a quick look at a large design.

        Raises:
            ParameterError: not a Sobol design, or ``n`` not a power of 2.
        """
        where = f"experiment {self.path.name}"
        if self.kind != "sobol":
            raise ParameterError(f"{where}: a sample size applies to the 'sobol' design only. Got kind = "
                                 f"{self.kind!r}.")
        if isinstance(n, bool) or not isinstance(n, int) or n < 2 or n & (n - 1):
            raise ParameterError(f"{where}: the Sobol sample size must be a power of 2 (>= 2). Got {n!r} instead.")
        content = copy.deepcopy(self.content)
        content["design"]["n"] = n
        check_size("sobol", self.varied, None, n, self.second_order, self.replicates,
                   content["design"].get("max_runs", DEFAULT_MAX_RUNS), where)
        exp = dataclasses.replace(self, n=n, content=content)
        _validate_points(exp, where)
        return exp

    def seeds_record(self) -> dict[str, Any]:
        return {"root": self.root_seed} if self.seed_list is None else {"list": list(self.seed_list)}

    def run_index(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run ids ``start..stop-1`` with their design points and replicates (int64 each)."""
        run = np.arange(start, stop, dtype=np.int64)
        return run, run // self.replicates, run % self.replicates

    def seeds(self, run: np.ndarray, replicate: np.ndarray) -> np.ndarray:
        """Seed of each run (int64, in [0, 2**32)); see the module docstring for the scheme."""
        return run_seeds(run, replicate, self.root_seed, self.seed_list)


def run_seeds(run: np.ndarray, replicate: np.ndarray, root_seed: int | None,
              seed_list: tuple[int, ...] | None) -> np.ndarray:
    """Per-run seeds: spawned from ``root_seed`` by run id, or ``seed_list[replicate]``."""
    if seed_list is not None:
        return np.asarray(seed_list, dtype=np.int64)[np.asarray(replicate)]
    return np.array([np.random.SeedSequence(root_seed, spawn_key=(int(i),)).generate_state(1)[0]
                     for i in np.asarray(run)], dtype=np.int64)


# --- loading and validation -----------------------------------------------------------------------

def load_experiment(path: str | Path) -> Experiment:
    """Load and validate an experiment file, including every design point it generates.

    Raises:
        ParameterError: unreadable or malformed TOML, unknown section or key, unknown or
            structural parameter, empty list or range, low > high, unknown design or
            distribution, bad sample size, zero replicates, bad seeds, an unknown base scenario,
            or a design point out of bounds (one line naming the file, field and value).
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"The experiment file {str(path)!r} does not exist.")
    doc = read_toml(path, "experiment")
    where = f"experiment {path.name}"
    for key, value in doc.items():
        if key not in SECTIONS:
            raise ParameterError(f"{where}: unknown section {key!r}; expected {', '.join(SECTIONS)}.")
        if not isinstance(value, dict):
            raise ParameterError(f"{where}: {key!r} must be a table ([{key}]). Got {value!r} instead.")
        allowed = SECTIONS[key]
        if allowed is not None:
            for sub in value:
                if sub not in allowed:
                    raise ParameterError(f"{where}: unknown key '{key}.{sub}'. Got {value[sub]!r}; "
                                         f"expected {', '.join(allowed)}.")
    meta, design = doc.get("experiment", {}), doc.get("design", {})
    reps, keep = doc.get("replicates", {}), doc.get("keep", {})

    base_name = meta.get("base", "baseline")
    if not isinstance(base_name, str) or not base_name:
        raise ParameterError(f"{where}: the 'experiment.base' field must be a scenario name or path. "
                             f"Got {base_name!r} instead.")
    base = _base_params(base_name, path, meta, doc.get("fixed", {}), where)

    kind = design.get("kind", "grid")
    if kind not in DESIGNS:
        raise ParameterError(f"{where}: the 'design.kind' field must be one of "
                             f"{', '.join(map(repr, DESIGNS))}. Got {kind!r} instead.")
    for key, needed in (("samples", "lhs"), ("n", "sobol"), ("second_order", "sobol")):
        if key in design and kind != needed:
            raise ParameterError(f"{where}: 'design.{key}' applies to the {needed!r} design only. "
                                 f"Got {design[key]!r} with kind = {kind!r}.")
    if "seed" in design and kind == "grid":
        raise ParameterError(f"{where}: 'design.seed' applies to the 'lhs' and 'sobol' designs only (a grid "
                             f"draws nothing). Got {design['seed']!r} with kind = 'grid'.")
    samples = n = None
    if kind == "lhs":
        samples = _int(design, "samples", where, "design", low=1, required=True)
    if kind == "sobol":
        n = _int(design, "n", where, "design", low=2, required=True)
        if n & (n - 1):
            raise ParameterError(f"{where}: the 'design.n' field must be a power of 2 (Sobol' sequence "
                                 f"balance). Got {n!r} instead.")
    second_order = _bool(design, "second_order", True, where, "design")
    design_seed = check_seed(design.get("seed", 0), "design.seed", where=where)
    max_runs = _int(design, "max_runs", where, "design", low=1, default=DEFAULT_MAX_RUNS)

    varied = _varied(doc.get("parameters", {}), kind, base, doc.get("fixed", {}), where, max_runs)

    seed_list = reps.get("seeds")
    if "root_seed" in reps and seed_list is not None:
        raise ParameterError(f"{where}: give either 'replicates.root_seed' or 'replicates.seeds', not "
                             f"both. Got {reps['root_seed']!r} and {seed_list!r}.")
    if seed_list is not None:
        if not isinstance(seed_list, list) or not seed_list:
            raise ParameterError(f"{where}: the 'replicates.seeds' field must be a non-empty list of "
                                 f"seeds. Got {seed_list!r} instead.")
        seed_list = tuple(check_seed(s, "replicates.seeds", where=where) for s in seed_list)
    count = _int(reps, "count", where, "replicates", low=1,
                 default=len(seed_list) if seed_list is not None else 1)
    if seed_list is not None and len(seed_list) != count:
        raise ParameterError(f"{where}: 'replicates.seeds' must list one seed per replicate "
                             f"({count}). Got {len(seed_list)} seeds instead.")
    root_seed = None if seed_list is not None else check_seed(reps.get("root_seed", 0), "replicates.root_seed",
                                                              where=where)
    check_size(kind, varied, samples, n, second_order, count, max_runs, where)

    keep_paths = _bool(keep, "paths", True, where, "keep")
    variables = keep.get("variables", list(AGENT_VARS))
    if (not isinstance(variables, list) or not variables
            or not all(isinstance(v, str) and v in AGENT_VARS for v in variables)
            or len(set(variables)) != len(variables)):
        raise ParameterError(f"{where}: the 'keep.variables' field must be a non-empty list of distinct "
                             f"names from {', '.join(AGENT_VARS)}. Got {variables!r} instead.")
    variables = tuple(v for v in AGENT_VARS if v in variables)

    content = {
        "experiment": {"description": str(meta.get("description", "")), "base": base_name,
                       "until": base["until"]},
        "fixed": dict(doc.get("fixed", {})),
        "parameters": {v.name: v.as_dict() for v in varied},
        "design": {"kind": kind, **({"samples": samples} if kind == "lhs" else {}),
                   **({"n": n, "second_order": second_order} if kind == "sobol" else {}),
                   **({"seed": design_seed} if kind != "grid" else {}),
                   **({"max_runs": max_runs} if "max_runs" in design else {})},
        "replicates": {"count": count, **({"seeds": list(seed_list)} if seed_list is not None
                                          else {"root_seed": root_seed})},
        "keep": {"paths": keep_paths, "variables": list(variables)},
    }
    exp = Experiment(path=path, name=path.stem, description=content["experiment"]["description"],
                     base_scenario=base_name, base=base, kind=kind, varied=tuple(varied),
                     samples=samples, n=n, second_order=second_order, design_seed=design_seed,
                     replicates=count, root_seed=root_seed, seed_list=seed_list,
                     keep_paths=keep_paths, variables=variables, content=content)
    _validate_points(exp, where)
    return exp


def design_size(kind: str, varied: list[Varied] | tuple[Varied, ...], samples: int | None, n: int | None,
                second_order: bool) -> int:
    """Number of design points, computed from the declaration alone (nothing is drawn or allocated)."""
    if kind == "grid":
        return math.prod(len(v.values) if v.values is not None else v.steps for v in varied)
    if kind == "lhs":
        return int(samples)
    d = len(varied)
    return int(n) * (2 * d + 2 if second_order else d + 2)


def check_size(kind: str, varied: list[Varied] | tuple[Varied, ...], samples: int | None, n: int | None,
               second_order: bool, replicates: int, max_runs: int, where: str) -> None:
    """Refuse a design of more than ``max_runs`` runs, stating its size, before anything is allocated."""
    points = design_size(kind, varied, samples, n, second_order)
    runs = points * replicates
    if runs <= max_runs:
        return
    memory = points * max(1, len(varied)) * 8  # the design table alone, float64
    raise ParameterError(f"{where}: the {kind} design has {points:,} points x {replicates:,} replicate(s) = {runs:,} "
                         f"runs (its design table alone {_size(memory)}), more than the maximum of {max_runs:,} runs; "
                         f"make it smaller, or raise 'design.max_runs' to run it on purpose.")


def _size(n_bytes: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n_bytes < 1000 or unit == "PB":
            return f"{n_bytes:,.0f} {unit}" if unit == "bytes" else f"{n_bytes:,.1f} {unit}"
        n_bytes /= 1000
    return ""


def _base_params(base_name: str, path: Path, meta: dict, fixed: dict, where: str) -> Params:
    """Base scenario params with ``[fixed]`` and ``until`` applied."""
    candidate = path.parent / base_name
    scenario_ref: str | Path = candidate if base_name.endswith(".toml") and candidate.is_file() else base_name
    try:
        scenario = load_scenario(scenario_ref)
    except ParameterError as exc:
        raise ParameterError(f"{where}: 'experiment.base': {exc}") from None
    overrides = dict(fixed)
    if "until" in meta:
        overrides["until"] = meta["until"]
    table = specs()
    for name in overrides:
        if name not in table:
            label = "experiment.until" if name == "until" and "until" not in fixed else f"fixed.{name}"
            raise ParameterError(f"{where}: unknown parameter {label!r}. Got {overrides[name]!r}; "
                                 f"'armsrace params' lists the parameters.")
    try:
        return scenario.params.replace(**overrides) if overrides else scenario.params
    except ParameterError as exc:
        raise ParameterError(f"{where}: {exc}") from None


def _varied(table: dict, kind: str, base: Params, fixed: dict, where: str,
            max_runs: int = DEFAULT_MAX_RUNS) -> list[Varied]:
    spec_table = specs()
    if not table:
        raise ParameterError(f"{where}: the '[parameters]' table must name at least one varied "
                             f"parameter. Got {table!r} instead.")
    out = []
    for name, entry in table.items():
        label = f"parameters.{name}"
        if name not in spec_table:
            raise ParameterError(f"{where}: unknown parameter {label!r}. Got {entry!r}; "
                                 f"'armsrace params' lists the parameters.")
        if name in STRUCTURAL:
            raise ParameterError(f"{where}: the {name!r} parameter cannot vary within a sweep (structural: "
                                 f"{', '.join(STRUCTURAL)}; set it in the base scenario). Got {entry!r}.")
        absent = [iso for iso in countries_of(name) if iso not in base.countries]
        if absent:
            raise ParameterError(f"{where}: {label!r} concerns {absent[0]}, which is not in the base "
                                 f"scenario's countries ({', '.join(base.countries)}). Got {entry!r}.")
        if name in fixed:
            raise ParameterError(f"{where}: {label!r} is also set in [fixed]. Got {fixed[name]!r} there; "
                                 f"keep one of the two.")
        spec = spec_table[name]
        if isinstance(entry, list):
            if not entry:
                raise ParameterError(f"{where}: the {label!r} list must not be empty. Got [] instead.")
            if kind != "grid":
                raise ParameterError(f"{where}: {label!r} is a list of values, which only the 'grid' design "
                                     f"takes; give a range {{ low = ..., high = ... }} for {kind!r}. "
                                     f"Got {entry!r}.")
            values = []
            for value in entry:
                try:
                    values.append(spec.check(value))
                except ParameterError as exc:
                    raise ParameterError(f"{where}: {label!r}: {exc}") from None
            if len(set(values)) != len(values):
                raise ParameterError(f"{where}: the {label!r} list repeats a value. Got {entry!r} instead.")
            out.append(Varied(name, values=tuple(values)))
        elif isinstance(entry, dict):
            out.append(_range(name, entry, kind, spec, where, max_runs))
        else:
            raise ParameterError(f"{where}: {label!r} must be a list of values or a range "
                                 f"{{ low = ..., high = ... }} (to hold it fixed, put it in [fixed]). "
                                 f"Got {entry!r} instead.")
    return out


def _range(name: str, entry: dict, kind: str, spec, where: str, max_runs: int = DEFAULT_MAX_RUNS) -> Varied:
    label = f"parameters.{name}"
    for key in entry:
        if key not in RANGE_KEYS:
            raise ParameterError(f"{where}: unknown key '{label}.{key}'. Got {entry[key]!r}; "
                                 f"expected {', '.join(RANGE_KEYS)}.")
    if spec.kind not in ("float", "int"):
        raise ParameterError(f"{where}: {label!r} is {spec.describe()}: give a list of values, not a range. "
                             f"Got {entry!r}.")
    for key in ("low", "high"):
        if key not in entry:
            raise ParameterError(f"{where}: the {label!r} range needs '{key}'. Got {entry!r} instead.")
        try:
            spec.check(entry[key])
        except ParameterError as exc:
            raise ParameterError(f"{where}: '{label}.{key}': {exc}") from None
    low, high = float(entry["low"]), float(entry["high"])
    if low > high:
        raise ParameterError(f"{where}: the {label!r} range has low > high. "
                             f"Got low = {entry['low']!r}, high = {entry['high']!r} instead.")
    if low == high:
        raise ParameterError(f"{where}: the {label!r} range is empty (low = high = {entry['low']!r}); "
                             f"put the parameter in [fixed] to hold it constant.")
    dist = entry.get("distribution", "uniform")
    if dist not in DISTRIBUTIONS:
        raise ParameterError(f"{where}: the '{label}.distribution' field must be one of "
                             f"{', '.join(map(repr, DISTRIBUTIONS))}. Got {dist!r} instead.")
    if dist == "loguniform" and low <= 0:
        raise ParameterError(f"{where}: a 'loguniform' range needs low > 0. "
                             f"Got '{label}.low' = {entry['low']!r} instead.")
    mean = sd = None
    if dist == "normal":
        for key in ("mean", "sd"):
            v = entry.get(key)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v):
                raise ParameterError(f"{where}: a 'normal' range needs a number '{label}.{key}'. "
                                     f"Got {v!r} instead.")
        mean, sd = float(entry["mean"]), float(entry["sd"])
        if sd <= 0:
            raise ParameterError(f"{where}: the '{label}.sd' field must be > 0. Got {entry['sd']!r} instead.")
    elif "mean" in entry or "sd" in entry:
        raise ParameterError(f"{where}: '{label}.mean' and '.sd' apply to the 'normal' distribution only. "
                             f"Got {entry!r} with distribution = {dist!r}.")
    steps = None
    if kind == "grid":
        if dist == "normal":
            raise ParameterError(f"{where}: the 'grid' design spaces a range evenly ('uniform' or "
                                 f"'loguniform'). Got distribution = 'normal' for {label!r}.")
        steps = _int(entry, "steps", where, label, low=2, required=True)
        if steps > max_runs:  # its values alone would be more than a design may hold: refuse before making them
            raise ParameterError(f"{where}: the {label!r} range has {steps:,} steps, more grid points than the "
                                 f"maximum of {max_runs:,} runs; make it smaller, or raise 'design.max_runs' to run "
                                 f"it on purpose.")
        values = _typed(name, Varied(name, low=low, high=high, distribution=dist, steps=steps).grid_values())
        if len(np.unique(values)) != len(values):
            raise ParameterError(f"{where}: the {label!r} range repeats a value once rounded to integers "
                                 f"({', '.join(map(str, values))}). Got {entry!r} instead.")
    elif "steps" in entry:
        raise ParameterError(f"{where}: '{label}.steps' applies to the 'grid' design only. "
                             f"Got {entry['steps']!r} with kind = {kind!r}.")
    return Varied(name, low=low, high=high, distribution=dist, steps=steps, mean=mean, sd=sd)


def _int(table: dict, key: str, where: str, section: str, low: int, default: int | None = None,
         required: bool = False) -> int:
    if key not in table:
        if required:
            raise ParameterError(f"{where}: the '{section}.{key}' field is required (an integer >= {low}).")
        return default
    v = table[key]
    if not isinstance(v, int) or isinstance(v, bool) or v < low:
        raise ParameterError(f"{where}: the '{section}.{key}' field must be an integer >= {low}. "
                             f"Got {v!r} instead.")
    return v


def _bool(table: dict, key: str, default: bool, where: str, section: str) -> bool:
    v = table.get(key, default)
    if not isinstance(v, bool):
        raise ParameterError(f"{where}: the '{section}.{key}' field must be true or false. Got {v!r} instead.")
    return v


def countries_of(name: str) -> tuple[str, ...]:
    """Countries a per-country or hostility parameter concerns (empty for global parameters)."""
    parts = name.upper().split("_")
    if name.startswith("hostility_") and len(parts) == 3:
        return tuple(parts[1:])
    return (parts[-1],) if parts[-1] in COUNTRIES else ()


# --- designs ---------------------------------------------------------------------------------------

def design_points(exp: Experiment) -> pd.DataFrame:
    """The design as a table: one row per design point, one typed column per varied parameter."""
    if exp.kind == "grid":
        grids = [v.grid_values() for v in exp.varied]
        rows = np.array(list(itertools.product(*[range(len(g)) for g in grids])), dtype=np.int64)
        cols = {v.name: g[rows[:, k]] for k, (v, g) in enumerate(zip(exp.varied, grids))}
    else:
        scaled = sample(exp)
        cols = {v.name: scaled[:, k] for k, v in enumerate(exp.varied)}
    return pd.DataFrame({name: _typed(name, values) for name, values in cols.items()})


def sample(exp: Experiment) -> np.ndarray:
    """LHS or Sobol/Saltelli sample ``(n_points, D)`` in parameter units (before integer rounding).

    LHS: ``qmc.LatinHypercube`` (scrambled) on the unit cube, mapped through each range's
    distribution by SALib's ``scale_samples``; Sobol: ``SALib.sample.sobol.sample``, which applies
    the same mapping itself.
    """
    from SALib.util import scale_samples

    d = len(exp.varied)
    if exp.kind == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=d, rng=np.random.default_rng(exp.design_seed)).random(exp.samples)
        return scale_samples(unit, copy.deepcopy(exp.problem))
    from SALib.sample import sobol

    # SALib writes into the problem it is given ("sample_scaled", "groups"): give it a copy, so
    # the problem recorded in the manifest is the experiment's own.
    return sobol.sample(copy.deepcopy(exp.problem), exp.n, calc_second_order=exp.second_order,
                        seed=exp.design_seed)


def _typed(name: str, values: np.ndarray) -> np.ndarray:
    kind = specs()[name].kind
    if kind == "int":
        return np.rint(np.asarray(values, dtype=float)).astype(np.int64)
    if kind == "bool":
        return np.asarray(values, dtype=bool)
    return np.asarray(values, dtype=float)


def _validate_points(exp: Experiment, where: str) -> None:
    """Check every design point through build_inputs (bounds, the cross-field rules of Params run by
    run, the start state within floor and cap), in blocks; name the first bad point."""
    points = exp.points
    for start in range(0, len(points), _VALIDATE_BLOCK):
        stop = min(start + _VALIDATE_BLOCK, len(points))
        if _inputs_error(exp.base, points, start, stop) is None:
            continue
        # Locate the first bad point by bisection, so the message names it and its values.
        lo, hi = start, stop
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _inputs_error(exp.base, points, lo, mid) is not None:
                hi = mid
            else:
                lo = mid
        values = {c: points[c].iloc[lo].item() for c in points.columns}
        error = _point_error(exp.base, values) or _inputs_error(exp.base, points, lo, lo + 1)
        raise ParameterError(f"{where}: design point {lo} ({_show(values)}) is invalid: {error}")


def _point_error(base: Params, values: dict[str, Any]) -> ParameterError | None:
    """The error of one design point, as for a single parameter set (no batch run number)."""
    try:
        build_inputs(base.replace(**values))
    except ParameterError as exc:
        return exc
    return None


def _inputs_error(base: Params, points: pd.DataFrame, start: int, stop: int) -> ParameterError | None:
    block = points.iloc[start:stop]
    try:
        build_inputs(base, {c: block[c].to_numpy() for c in block.columns})
    except ParameterError as exc:
        return exc
    return None


def _show(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {v!r}" for k, v in values.items())
