"""Variance-based (Sobol) sensitivity of the outcomes: one pipeline for every Sobol analysis.

The design is an experiment file, by default the project's declared one,
``experiments/sensitivity.toml`` (its parameters and ranges, a Saltelli design with second-order
indices, its own design seed and run seeds), loaded by :func:`model.batch.experiments.load_experiment`
exactly as ``armsrace sweep`` loads it. The runs are a sweep's runs: read from its result folder
(:func:`sobol_table`, what ``armsrace plot`` writes as ``sobol_indices.csv``) or computed in memory
chunk by chunk as the sweep computes them (:func:`run_sensitivity`, what ``armsrace report`` shows,
through :func:`model.batch.sweep.run_in_memory`). Either way, each design point's output is the
mean of its replicates (for ``spiral_share``: the share of its replicates ending in a spiral), and
the indices are :func:`model.analysis.sobol.analyze` of those means over the complete Saltelli blocks.
The same experiment, outcome and bootstrap seed therefore give the same indices in both.

Seeds. Design points and run seeds are the experiment's (``[design] seed``, ``[replicates]``); the
only seed chosen here is the bootstrap's (``seed``; SALib draws from ``seed + 1``, see
:data:`model.analysis.sobol.SALIB_SEED_OFFSET`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.analysis.sobol import SaltelliDesign, analyze, saltelli_design
from model.batch.experiments import Experiment, load_experiment
from model.batch.store import DERIVED, Results, outcome_values
from model.batch.sweep import run_in_memory
from model.errors import IndicesUndefined, ParameterError
from model.sim.params import Params
from model.sim.scenarios import experiments_dir

SOBOL_OUTCOMES = ("regional_excess_end", "regional_spending_growth", "spiral_share", "security_dilemma_index",
                  "final_burden_jpn",
                  "final_burden_kor", "final_burden_phl")
"""Outcomes whose indices ``armsrace plot`` draws for a Sobol sweep (those that vary)."""
MID_YEAR = 2035
"""The year of Japan's mid-run burden outcome (the year NATO's Hague pledge reaches 5%)."""
CAP_TOLERANCE = 1e-9


def experiment_path() -> Path:
    """The project's declared sensitivity experiment: ``sensitivity.toml`` in :func:`experiments_dir`."""
    return experiments_dir() / "sensitivity.toml"


def results_design(res: Results) -> SaltelliDesign:
    """The Saltelli design of a Sobol result folder, over its complete blocks."""
    return saltelli_design(res.design, res.runs["design_point"].to_numpy(), res.replicates, res.where,
                           res.incomplete_note)


def point_means(runs: pd.DataFrame, outcome: str, points: np.ndarray) -> np.ndarray:
    """Mean of an outcome over each design point's runs, at ``points`` (in that order)."""
    means = outcome_values(runs, outcome).groupby(runs["design_point"].to_numpy()).mean()
    return means.reindex(points).to_numpy()


def indices_table(design: SaltelliDesign, runs: pd.DataFrame, outcomes: Sequence[str], *, undefined: str = "raise",
                  num_resamples: int = 200, conf_level: float = 0.95, seed: int = 0,
                  where: str = "The design") -> pd.DataFrame:
    """Sobol indices of several outcomes over one design, one row per outcome and parameter.

    Args:
        design: the design and its complete blocks (:func:`model.analysis.sobol.saltelli_design`).
        runs: one row per run: ``design_point`` and the outcome columns (or the escalation class,
            for the derived shares of :data:`model.batch.store.DERIVED`).
        outcomes: the outcomes, in order.
        undefined: what to do with an outcome whose indices are undefined (missing values, no
            variance, constant within the blocks): ``"raise"`` (ParameterError naming it), ``"skip"``,
            or ``"nan"`` (NaN indices and the reason in an ``undefined`` column).
        num_resamples, conf_level, seed: of the bootstrap intervals (:func:`model.analysis.sobol.analyze`).
        where: how messages name the design.

    Returns:
        Columns ``outcome`` and those of :func:`model.analysis.sobol.analyze`; with
        ``undefined="nan"`` also ``undefined`` ("" where the indices are defined).
    """
    parts = []
    for o in outcomes:
        y = point_means(runs, o, design.points)
        try:
            t = analyze(design.problem, y, calc_second_order=design.second, num_resamples=num_resamples,
                        conf_level=conf_level, seed=seed)
            reason = ""
        except IndicesUndefined as exc:
            if undefined == "raise":
                raise ParameterError(f"The outcome {o!r} in {where} has {exc.reason} over the design points; "
                                     f"Sobol indices cannot be computed for it.") from None
            if undefined == "skip":
                continue
            t = pd.DataFrame({"parameter": design.problem["names"]})
            reason = exc.reason
        t.insert(0, "outcome", o)
        if undefined == "nan":
            t["undefined"] = reason
        parts.append(t)
    if not parts:
        return pd.DataFrame(columns=["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"])
    return pd.concat(parts, ignore_index=True)


def sobol_table(results: Results, outcomes: Sequence[str] | None = None, num_resamples: int = 200,
                conf_level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Sobol indices per outcome and parameter of a Sobol sweep result folder.

    An unfinished sweep contributes its complete Saltelli blocks only. Outcomes whose indices are
    undefined (missing values, no variance) are skipped when ``outcomes`` is None (default:
    :data:`SOBOL_OUTCOMES` present in the runs), and raise otherwise.

    Returns:
        Columns outcome, parameter, S1, S1_conf, ST, ST_conf (``*_conf``: half-width of the
        ``conf_level`` bootstrap interval), and ``S2_<p>``, ``S2_conf_<p>`` for second-order designs.

    Raises:
        ParameterError: not a Sobol design, an inconsistent design, or an unknown or unusable outcome.
    """
    design = results_design(results)
    explicit = outcomes is not None
    if explicit:
        for o in outcomes:
            results.check_outcome(o)
    else:
        outcomes = [o for o in SOBOL_OUTCOMES if o in DERIVED or o in results.runs]
    return indices_table(design, results.runs, list(outcomes), undefined="raise" if explicit else "skip",
                         num_resamples=num_resamples, conf_level=conf_level, seed=seed,
                         where=repr(str(results.path)))


@dataclass
class Sensitivity:
    """Result of :func:`run_sensitivity`.

    Attributes:
        experiment: the experiment run (its ``n`` possibly overridden).
        runs: one row per run, as a sweep's runs table, plus ``burden_jpn_<MID_YEAR>`` and
            ``spiral_prk_cap`` (1 if the run spirals with North Korea ending at its burden cap).
        outcomes: one row per design point: the varied parameters, then each outcome averaged over
            the point's replicates (``spiral_share``: share of replicates that spiral;
            ``spiral_prk_cap_share``: share that spiral with North Korea at its cap).
        indices: :func:`indices_table` of :attr:`labels`' outcomes (undefined ones as NaN, with the reason).
        labels: outcome -> what it is, with its unit.
        seed: bootstrap seed (SALib draws from ``seed + 1``).
        num_resamples: bootstrap resamples.
        declared_n: the base sample size the experiment file declares (``experiment.n`` unless overridden).
    """

    experiment: Experiment
    runs: pd.DataFrame
    outcomes: pd.DataFrame
    indices: pd.DataFrame
    labels: dict[str, str]
    seed: int
    num_resamples: int
    declared_n: int

    @property
    def n(self) -> int:
        return int(self.experiment.n)

    @property
    def problem(self) -> dict[str, Any]:
        return self.experiment.problem

    @property
    def base(self) -> Params:
        return self.experiment.base

    @property
    def n_points(self) -> int:
        return self.experiment.n_points

    @property
    def n_runs(self) -> int:
        return self.experiment.n_runs

    def summary(self) -> pd.DataFrame:
        """Mean and standard deviation of each outcome over the design points (index: outcome)."""
        cols = [c for c in self.labels if c in self.outcomes]
        return pd.DataFrame({"mean": self.outcomes[cols].mean(), "sd": self.outcomes[cols].std(ddof=0)})


def report_outcomes(base: Params) -> dict[str, str]:
    """The outcomes the report analyses, with their meaning and unit, for runs ending in ``base['until']``."""
    start, until = base["start_year"], base["until"]
    out = {}
    if start < MID_YEAR < until:
        out[f"burden_jpn_{MID_YEAR}"] = f"Japan's burden in {MID_YEAR} (share of GDP)"
    out["final_burden_jpn"] = f"Japan's burden in {until} (share of GDP)"
    out["regional_excess_end"] = f"regional burden above the counterfactual in {until} (share of GDP)"
    out["spiral_share"] = "share of runs that spiral"
    return out


def run_sensitivity(experiment: str | Path | Experiment | None = None, n: int | None = None, seed: int = 0,
                    num_resamples: int = 200, outcomes: Mapping[str, str] | None = None) -> Sensitivity:
    """Run a Sobol experiment in memory, as ``armsrace sweep`` would, and analyse it.

    Args:
        experiment: an experiment file or a loaded experiment (default :func:`experiment_path`).
        n: base sample size instead of the file's (a power of 2; e.g. small for a quick look).
        seed: bootstrap seed of the confidence intervals.
        num_resamples: bootstrap resamples.
        outcomes: outcome -> label (default :func:`report_outcomes`).

    Raises:
        ParameterError: not a Sobol experiment, a bad ``n``, or an invalid experiment file.
    """
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment or experiment_path())
    if exp.kind != "sobol":
        raise ParameterError(f"experiment {exp.path.name}: Sobol indices need a 'sobol' design. Got {exp.kind!r}.")
    declared_n = int(exp.n)
    if n is not None and n != exp.n:
        exp = exp.with_sample_size(n)
    runs, agents = run_in_memory(exp)
    runs = _with_report_columns(runs, agents, exp.base)
    labels = dict(outcomes) if outcomes is not None else report_outcomes(exp.base)
    design = saltelli_design(exp.design_record(), runs["design_point"].to_numpy(), exp.replicates,
                             f"experiment {exp.path.name}")
    indices = indices_table(design, runs, list(labels), undefined="nan", num_resamples=num_resamples, seed=seed,
                            where=f"experiment {exp.path.name}")
    per_point = {name: point_means(runs, name, design.points) for name in labels}
    per_point["spiral_prk_cap_share"] = point_means(runs, "spiral_prk_cap", design.points)
    table = pd.concat([exp.points.iloc[design.points].reset_index(drop=True), pd.DataFrame(per_point)], axis=1)
    return Sensitivity(exp, runs, table, indices, labels, seed, num_resamples, declared_n)


def _with_report_columns(runs: pd.DataFrame, agents: pd.DataFrame | None, base: Params) -> pd.DataFrame:
    """Add Japan's burden in :data:`MID_YEAR` (from the kept burden paths) and whether a run spirals
    with North Korea ending at its burden cap (a documented assumption, not data: the usual way a
    run spirals)."""
    runs = runs.copy()
    if agents is not None and "burden" in agents and base["start_year"] < MID_YEAR < base["until"]:
        jpn = agents[(agents["country"] == "JPN") & (agents["year"] == MID_YEAR)].set_index("run")["burden"]
        runs[f"burden_jpn_{MID_YEAR}"] = jpn.reindex(runs["run"]).to_numpy()
    spiral = (runs["escalation"] == "spiral").to_numpy()
    if "final_burden_prk" in runs:
        at_cap = runs["final_burden_prk"].to_numpy() >= base["burden_cap_prk"] - CAP_TOLERANCE
    else:
        at_cap = np.zeros(len(runs), bool)
    runs["spiral_prk_cap"] = (spiral & at_cap).astype(float)
    return runs
