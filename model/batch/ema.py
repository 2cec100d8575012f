"""The model for EMA Workbench users: uncertainties and levers from the declarations, the fast engine as evaluator.

EMA Workbench (Kwakkel 2017) separates what varies (parameters), how it is sampled, how runs are
executed (evaluators) and how results are analysed. This adapter fills the first and third from
the project's own declarations (:func:`model.sim.params.specs`: kind, bounds, unit) and engine
(:func:`model.batch.engine.run_batch`), so ``perform_experiments`` computes *all* experiments in one
vectorised call instead of one Python call per experiment::

    from model.batch.ema import ema_model, perform
    model = ema_model(uncertainties={"threat_scale": (0.5, 8.0), "hostility_scale": None},
                      levers={"us_demand": (0.02, 0.05)})
    experiments, outcomes = perform(model, scenarios=50, policies=4, seed=1)

Each parameter takes its declared bounds unless a narrower ``(low, high)`` is given (cross-field
rules, e.g. ``us_demand_year >= us_demand_start``, may call for one). Structural parameters
(countries, years, threat model, anchoring) cannot vary within a batch: they are the model's
constants. Run ``i`` of a call gets the seed ``SeedSequence(seed, spawn_key=(i,))``, the scheme of
the sweeps, so the same samples and seed give the same outcomes. Outcomes are the numeric per-run
columns of the engine (:mod:`model.sim.outcomes`), each classed against its matched counterfactual
under the base parameters. Needs the ``discover`` extra (EMA Workbench).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from model.batch.engine import run_batch
from model.batch.experiments import run_seeds
from model.errors import ParameterError
from model.sim.params import STRUCTURAL, Params, check_seed, specs

OUTCOMES = ("escalation_code", "regional_excess_end", "regional_excess_growth", "regional_spending_growth",
            "security_dilemma_index", "stability_radius", "final_burden_usa", "final_burden_jpn", "final_burden_kor",
            "final_burden_phl", "final_burden_chn", "final_burden_prk", "final_burden_rus")
"""Default outcomes (numbers per run; the class as its code: 0 stable, 1 buildup, 2 spiral)."""


def workbench() -> Any:
    """The ``ema_workbench`` module (ParameterError naming the extra when it is missing)."""
    try:
        with warnings.catch_warnings():  # "ipyparallel not installed", "altair not available"
            warnings.simplefilter("ignore")
            import ema_workbench
    except ImportError:
        raise ParameterError("The EMA Workbench adapter needs EMA Workbench, which is not installed; install the "
                             "'discover' extra: pip install -e '.[discover]'.") from None
    return ema_workbench


def ema_parameter(name: str, bounds: tuple[float, float] | None = None):
    """The EMA parameter of a declared parameter: Real, Integer, Boolean or Categorical, with its unit.

    Raises:
        ParameterError: unknown or structural name, a kind EMA cannot vary, bounds outside the declaration.
    """
    ema = workbench()
    spec = specs().get(name)
    if spec is None:
        raise ParameterError(f"Unknown parameter {name!r}; 'armsrace params' lists the parameters.")
    if name in STRUCTURAL:
        raise ParameterError(f"The {name!r} parameter cannot vary within a batch; set it in the base. Got it as "
                             f"an uncertainty or lever.")
    if spec.kind == "bool":
        par = ema.BooleanParameter(name)
    elif spec.kind == "choice":
        par = ema.CategoricalParameter(name, list(spec.choices))
    else:
        lo, hi = (spec.low, spec.high) if bounds is None else bounds
        if not spec.low <= lo < hi <= spec.high:
            raise ParameterError(f"The {name!r} range must lie within [{spec.low:g}, {spec.high:g}] with low < high. "
                                 f"Got [{lo:g}, {hi:g}] instead.")
        par = ema.RealParameter(name, lo, hi) if spec.kind == "float" else ema.IntegerParameter(name, int(lo), int(hi))
    par.unit = spec.unit  # EMA parameters carry no unit; the declaration's travels with them
    return par


def _declared(items: Mapping[str, tuple[float, float] | None] | Sequence[str]) -> list:
    pairs = items.items() if isinstance(items, Mapping) else ((name, None) for name in items)
    return [ema_parameter(name, bounds) for name, bounds in pairs]


def ema_model(uncertainties: Mapping[str, tuple[float, float] | None] | Sequence[str],
              levers: Mapping[str, tuple[float, float] | None] | Sequence[str] = (),
              base: Params | None = None, outcomes: Sequence[str] = OUTCOMES, seed: int = 0, name: str = "armsrace"):
    """An EMA ``Model`` of the arms race, evaluated by the fast engine (see the module docstring).

    Args:
        uncertainties, levers: parameter names, or name -> (low, high) narrower than the declaration.
        base: parameters shared by every experiment (default: the defaults); its structural values
            become the model's constants.
        outcomes: per-run numeric columns of the engine to report.
        seed: root of the runs' seeds.
    """
    seed = check_seed(seed)
    ema = workbench()
    base = Params.from_kwargs() if base is None else base
    model = ema.Model(name, function=_engine(base, seed))
    model.uncertainties = _declared(uncertainties)
    model.levers = _declared(levers)
    model.constants = [ema.Constant(k, base[k] if k != "countries" else list(base[k])) for k in STRUCTURAL]
    model.outcomes = [ema.ScalarOutcome(o) for o in outcomes]
    return model


def _engine(base: Params, seed: int):
    """The model function: every experiment of a call at once through ``run_batch``."""
    def engine(**kw) -> dict[str, np.ndarray]:
        varied = {k: np.asarray(v) for k, v in kw.items() if k not in STRUCTURAL}
        fixed = base.replace(**{k: v for k, v in kw.items() if k in STRUCTURAL})  # the model's constants
        n = len(next(iter(varied.values())))
        run = np.arange(n, dtype=np.int64)
        runs, _ = run_batch(fixed, varied, run_seeds(run, run, seed, None), paths=False)
        return {c: runs[c].to_numpy(dtype=float) for c in runs.columns if c != "escalation"}
    return engine


def evaluator(model):
    """An EMA evaluator that sends every experiment of a ``perform_experiments`` call to the engine at once."""
    workbench()
    from ema_workbench.em_framework.evaluators import BaseEvaluator

    class VectorisedEvaluator(BaseEvaluator):
        def initialize(self) -> None:
            pass

        def finalize(self) -> None:
            pass

        def evaluate_experiments(self, experiments, callback, **kwargs) -> None:
            experiments = list(experiments)
            for m in self._msis:
                mine = [e for e in experiments if e.model_name == m.name]
                if not mine:
                    continue
                names = [p.name for p in (*m.uncertainties, *m.levers)]
                rows = [{**e.scenario, **e.policy} for e in mine]
                columns = {n: np.asarray([r[n] for r in rows]) for n in names}
                out = m.function(**columns, **{c.name: c.value for c in m.constants})
                for k, e in enumerate(mine):
                    callback(e, {o.name: o.process([float(out[v][k]) for v in o.variable_name]) for o in m.outcomes})

    return VectorisedEvaluator(model)


def perform(model, scenarios: int, policies: int | None = None, seed: int = 0) -> tuple[Any, dict[str, np.ndarray]]:
    """``perform_experiments`` with the vectorised evaluator and seeded Latin hypercube samples.

    The uncertainties are sampled from ``seed``, the levers from a stream spawned from it.

    Returns:
        EMA's ``(experiments DataFrame, outcomes dict)``.

    Raises:
        ParameterError: a seed that is not an integer in [0, 2**63 - 1].
    """
    seed = check_seed(seed)
    ema = workbench()
    kw: dict[str, Any] = {"uncertainty_sampling_kwargs": {"rng": seed}}
    if model.levers:
        kw["policies"] = policies or 1
        kw["lever_sampling_kwargs"] = {"rng": np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])}
    return ema.perform_experiments(model, scenarios=scenarios, evaluator=evaluator(model), log_progress=True, **kw)
