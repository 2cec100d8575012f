"""Batch engines: many runs of the model at once, as per-run and per agent-year tables.

Two engines give identical tables (bit for bit) for the same parameters and seeds:

* ``fast`` (default): the runs of a batch as arrays with a leading run axis: ``build_inputs`` once,
  then :func:`model.sim.dynamics.step` per year for every run together. Each run draws its shocks
  exactly as a Mesa run does (docs/ARCHITECTURE.md, "Randomness"): ``draw_run(default_rng(seed), T, N)``.
* ``mesa``: each run is an :class:`~model.sim.model.ArmsRaceModel` stepped by Mesa, its paths read
  from the DataCollector. Slow; it is the reference the fast engine is tested against.

Both summarise with :func:`model.sim.outcomes.summarise` and add :func:`model.sim.stability.response_radius`
at the start state under the runs' policies (column ``stability_radius``).

Tables (the sweep result format, see :mod:`model.batch.sweep`):

* runs: ``run`` (int), ``seed`` (int), one column per varied parameter, every outcome column of
  ``summarise`` (``escalation`` as a string, ``escalation_code``, ...), ``stability_radius``.
* agents: ``run, year, country`` and the kept variables of ``AGENT_VARS`` (float64; units in
  :mod:`model.sim.model`), ordered by run, year, then country in the model's order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from model.errors import ParameterError
from model.sim import dynamics
from model.sim.counterfactual import ensemble_band, has_draws, matched, with_run_axis
from model.sim.inputs import RunDraws, build_inputs, draw_runs
from model.sim.outcomes import Counterfactual, summarise
from model.sim.params import Params, kept_by_counterfactual
from model.sim.stability import response_radius
from model.sim.units import AGENT_VARS

ENGINES = ("fast", "mesa")


class Paths(NamedTuple):
    """Simulated paths of a batch of R runs.

    Attributes:
        years: (T+1,) the start year and every simulated year.
        countries: country codes along the last axis.
        values: variable -> (R, T+1, N) array (every variable of AGENT_VARS).
        cap: (R, N) burden caps (for the escalation class).
        radius: (R,) stability radius at the start state under the runs' policies.
        cf: the runs' matched counterfactual paths (same seeds, base levers).
        band: noise band of the no-lever ensemble (share of GDP).
        draws: the runs' draws as the fast engine made them (None: no draws, or the mesa engine), for
            the counterfactual to reuse.
    """

    years: np.ndarray
    countries: tuple[str, ...]
    values: dict[str, np.ndarray]
    cap: np.ndarray
    radius: np.ndarray
    cf: Counterfactual
    band: float
    draws: RunDraws | None = None


def run_batch(base: Params, varied: Mapping[str, np.ndarray], seeds: Sequence[int] | np.ndarray,
              engine: str = "fast", variables: Sequence[str] = AGENT_VARS, paths: bool = True,
              run_ids: np.ndarray | None = None, band: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Run R parameter sets in memory and return their tables.

    Each run is classed against its matched counterfactual: the same seed under ``base`` (every
    varied parameter at its base value; :mod:`model.sim.outcomes`).

    Args:
        base: parameters shared by every run (structural ones included: countries, years...).
        varied: flat parameter name -> values of shape (R,) overriding ``base`` run by run; may be
            empty (then R = len(seeds), e.g. replicates of one parameter set).
        seeds: (R,) seeds, one per run (integers >= 0).
        engine: "fast" (array kernel) or "mesa" (one ArmsRaceModel per run); identical results.
        variables: agent variables to keep in the agents table.
        paths: build the agents table (False: return None in its place, saves time and memory).
        run_ids: (R,) run ids for the ``run`` column (default 0..R-1).
        band: noise band of the no-lever ensemble (default: computed from ``base``,
            :func:`model.sim.counterfactual.ensemble_band`; a sweep computes it once).

    Returns:
        ``(runs, agents)``: one row per run, and one row per run, year and country (or None).

    Raises:
        ParameterError: unknown or structural parameter, value out of bounds, shape mismatch,
            unknown engine.
    """
    seeds = np.asarray(seeds, dtype=np.int64)
    varied = {k: np.asarray(v) for k, v in varied.items()}
    run_ids = np.arange(len(seeds), dtype=np.int64) if run_ids is None else np.asarray(run_ids, np.int64)
    for name, v in varied.items():
        if v.shape != seeds.shape:
            raise ParameterError(f"The {name!r} values must have one value per seed, shape {seeds.shape}. "
                                 f"Got shape {v.shape} instead.")
    if run_ids.shape != seeds.shape:
        raise ParameterError(f"The run ids must have shape {seeds.shape}. Got {run_ids.shape} instead.")
    p = simulate(base, varied, seeds, engine, band)
    runs = runs_table(p, run_ids, seeds, varied)
    agents = agents_table(p, run_ids, variables) if paths else None
    return runs, agents


def simulate(base: Params, varied: Mapping[str, np.ndarray], seeds: np.ndarray, engine: str,
             band: float | None = None) -> Paths:
    """Paths of every run with the chosen engine, and their counterfactuals (see the module docstring)."""
    if engine == "fast":
        p = simulate_fast(base, varied, seeds)
    elif engine == "mesa":
        p = simulate_mesa(base, varied, seeds)
    else:
        raise ParameterError(f"The 'engine' must be one of {', '.join(map(repr, ENGINES))}. Got {engine!r} instead.")
    levers = [k for k in varied if not kept_by_counterfactual(k)]
    cf = (Counterfactual(p.values["burden"], p.values["threat"]) if not levers
          else matched(base, seeds, varied, draws=p.draws)[0])
    return p._replace(cf=cf, band=ensemble_band(base) if band is None else float(band))


def simulate_fast(base: Params, varied: Mapping[str, np.ndarray], seeds: np.ndarray) -> Paths:
    """All runs at once through :func:`model.sim.dynamics.simulate` (arrays with a leading run axis)."""
    r = len(seeds)
    full = with_run_axis(base, varied, r)
    n, steps = len(base.countries), base["until"] - base["start_year"]
    draws = None
    # Zero noise scales make every shock exactly neutral (exp(0) = 1, 0 * z = 0) and switched-off
    # coefficient / North Korea draws are never read, so skipping the draws changes no bit of the
    # result and saves most of the time of deterministic sweeps.
    if has_draws(base, full):
        draws = draw_runs(seeds, steps, n)
    x = build_inputs(base, full, draws)
    values = dynamics.simulate(x, None if draws is None else draws.noise)
    years = np.arange(x.start_year, x.until + 1)
    return Paths(years, x.countries, {v: values[v] for v in AGENT_VARS}, np.broadcast_to(x.burden_cap, (r, n)),
                 response_radius(x, dynamics.start_state(x)), None, 0.0, draws)


def simulate_mesa(base: Params, varied: Mapping[str, np.ndarray], seeds: np.ndarray) -> Paths:
    """Each run as an ArmsRaceModel stepped by Mesa; paths from its DataCollector."""
    from model.sim.model import ArmsRaceModel

    paths, caps, radius = [], [], []
    for i, seed in enumerate(seeds):
        row = {name: values[i].item() for name, values in varied.items()}
        m = ArmsRaceModel(params=base.replace(**row) if row else base, rng=int(seed)).run()
        paths.append(_model_paths(m))
        caps.append(np.broadcast_to(m.inputs.burden_cap, (len(m.inputs.countries),)))
        radius.append(response_radius(m.inputs, dynamics.start_state(m.inputs)))
    values = {v: np.stack([p[v] for p in paths]) for v in AGENT_VARS}
    years = np.arange(m.inputs.start_year, m.year + 1)
    return Paths(years, m.inputs.countries, values, np.stack(caps), np.array(radius, dtype=float), None, 0.0)


def _model_paths(m) -> dict[str, np.ndarray]:
    """``m.paths()`` without its seven pivots: the agent table is year-major in country order."""
    table = m.agent_table()
    n = len(m.inputs.countries)
    shape = (len(table) // n, n)
    ordered = (table["country"].to_numpy().reshape(shape) == np.array(m.inputs.countries)).all()
    if not ordered or not table["year"].is_monotonic_increasing:
        return m.paths()
    return {v: table[v].to_numpy(dtype=float).reshape(shape) for v in AGENT_VARS}



def runs_columns(p: Paths, run_ids: np.ndarray, seeds: np.ndarray,
                 varied: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Columns of the runs table, in order: run, seed, varied parameters, outcomes, stability_radius."""
    v = p.values
    outcomes = summarise(p.years, p.countries, v["burden"], v["spending"], v["gdp"], v["threat"], p.cap, cf=p.cf,
                         radius=p.radius, band=p.band)
    cols: dict[str, np.ndarray] = {"run": np.asarray(run_ids, dtype=np.int64),
                                   "seed": np.asarray(seeds, dtype=np.int64)}
    cols.update({name: np.asarray(values) for name, values in varied.items()})
    for name, values in outcomes.items():
        cols[name] = values.astype(str) if name == "escalation" else values
    return cols


def runs_table(p: Paths, run_ids: np.ndarray, seeds: np.ndarray,
               varied: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """One row per run: run, seed, varied parameters, outcomes, stability_radius."""
    return pd.DataFrame(runs_columns(p, run_ids, seeds, varied))


def agents_arrow(p: Paths, run_ids: np.ndarray, variables: Sequence[str] = AGENT_VARS) -> pa.Table:
    """The agents table as Arrow (what the sweep writes; no pandas round trip)."""
    r, t1, n = p.values["burden"].shape
    cols = {
        "run": pa.array(np.repeat(np.asarray(run_ids, dtype=np.int64), t1 * n)),
        "year": pa.array(np.tile(np.repeat(p.years.astype(np.int64), n), r)),
        # Taking from the 7 codes is ~40x faster than converting a column of Python strings.
        "country": pa.array(list(p.countries), type=pa.string()).take(
            pa.array(np.tile(np.arange(n, dtype=np.int32), r * t1))),
    }
    for v in variables:
        cols[v] = pa.array(p.values[v].reshape(-1))
    return pa.table(cols)


def agents_table(p: Paths, run_ids: np.ndarray, variables: Sequence[str] = AGENT_VARS) -> pd.DataFrame:
    """One row per run, year and country: run, year, country, then ``variables`` (float64)."""
    return agents_arrow(p, run_ids, variables).to_pandas()


def inputs_of(base: Params, varied: Mapping[str, np.ndarray], seeds: np.ndarray) -> dynamics.Inputs:
    """The fast engine's inputs for a batch (for diagnostics and benchmarks)."""
    full = with_run_axis(base, varied, len(seeds))
    draws = None
    if has_draws(base, full):
        draws = draw_runs(seeds, base["until"] - base["start_year"], len(base.countries))
    return build_inputs(base, full, draws)
