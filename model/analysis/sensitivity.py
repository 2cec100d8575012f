"""Variance-based (Sobol) sensitivity of the headline outcomes to the main parameters.

Design: Saltelli's extension of the Sobol' sequence (``SALib.sample.sobol.sample``, first and
total order, ``N x (D + 2)`` design points for ``D`` parameters), each point run ``replicates``
times with seeds ``seed + r`` (replicate ``r`` uses the same seed at every point: common random
numbers, so differences between points are not drowned in shock noise). Runs go through the
batch engine (:func:`model.batch.engine.run_batch`, ``fast``), in chunks to bound memory.

Outcomes per design point (replicates averaged):

* ``burden_jpn_2035`` -- Japan's burden in 2035 (share of GDP; the runs end in 2035);
* ``regional_spending_growth`` -- relative change of total spending from the start year to 2035;
* ``spiral_share`` -- share of the replicates classed *spiral* (:mod:`model.sim.outcomes`).

Indices (:func:`model.charts.sweep.sobol_table`, i.e. ``SALib.analyze.sobol.analyze`` on the mean
of each design point's replicates): first order S1 (the share of output variance due to the
parameter alone) and total order ST (including all its interactions), with bootstrap 95%
confidence intervals. The bootstrap is seeded with ``seed + 1`` (:data:`BOOTSTRAP_SEED_OFFSET`):
SALib 1.6 seeds it only ``if seed:``, so a seed of 0 would leave the intervals unreproducible.
An outcome that does not vary over the design has no indices (NaN).

Every run ends in :data:`HORIZON` (``run_sensitivity`` sets ``until`` of any base to it), so the
outcome named ``burden_jpn_2035`` is Japan's burden in 2035 whatever base is passed.

The base is the ``baseline`` scenario with the strike doctrine on from 2026 (so that its boost
can matter) and modest shocks (threat log-sd 0.1, budget sd 2% of the burden a year), without
which every replicate would be identical and the spiral share would be 0 or 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from SALib.sample import sobol as sobol_sample  # noqa: E402

from model.charts.sweep import SALIB_SEED_OFFSET, Results, sobol_table  # noqa: E402
from model.errors import ParameterError  # noqa: E402
from model.sim.params import Params, specs  # noqa: E402

BOUNDS: dict[str, tuple[float, float]] = {
    "us_demand": (0.02, 0.05),               # share of GDP: no new ask .. NATO precedent
    "us_insistence": (0.5, 2.0),             # default 1
    "alliance_credibility": (0.2, 1.0),      # default 0.8
    "threat_scale": (0.5, 2.0),              # every threat sensitivity x0.5 .. x2
    "hostility_scale": (0.5, 1.5),           # every hostility weight x0.5 .. x1.5
    "partnership": (0.0, 1.0),               # CHN-PRK-RUS pooling, default 0.5
    "adjustment_speed_jpn": (0.05, 0.3),     # Japan's "measured approach", default 0.15
    "threat_sensitivity_chn": (0.0025, 0.01),  # default 0.005, x0.5 .. x2
    "counterattack_boost": (0.0, 1.0),       # default 0.3; the counterattack scenario uses 0.5
}
"""Parameter -> (low, high): ranges bracketing each default by plausible extremes (uniform)."""
OUTCOMES = {
    "burden_jpn_2035": "Japan's burden in 2035 (share of GDP)",
    "regional_spending_growth": "regional spending growth to 2035 (relative)",
    "spiral_share": "share of runs that spiral",
}
HORIZON = 2035
BASE_OVERRIDES = {"until": HORIZON, "counterattack": True, "counterattack_year": 2026,
                  "threat_noise": 0.1, "budget_noise": 0.02}
"""Changes to the baseline scenario for the analysis (see the module docstring)."""
BOOTSTRAP_SEED_OFFSET = SALIB_SEED_OFFSET
"""The bootstrap of the confidence intervals uses ``seed + 1`` (applied by ``sweep_plots.sobol_table``):
SALib 1.6 seeds it only when the seed is truthy (``if seed:``), so 0 must never reach it."""
CHUNK = 8192
"""Runs per batch call (memory: the engine holds (runs, years, countries) arrays)."""


@dataclass
class Sensitivity:
    """Result of :func:`run_sensitivity`.

    Attributes:
        problem: the SALib problem (names, bounds).
        base: the parameter set every run starts from.
        design: ``(P, D)`` design points.
        outcomes: one row per design point: the parameters and the outcome columns.
        indices: one row per outcome and parameter: ``S1``, ``S1_conf``, ``ST``, ``ST_conf``
            (confidence half-widths at 95%).
        n, replicates, seed: the sample size, replicates per point and root seed.
    """

    problem: dict
    base: Params
    design: np.ndarray
    outcomes: pd.DataFrame
    indices: pd.DataFrame
    n: int
    replicates: int
    seed: int

    @property
    def n_runs(self) -> int:
        return len(self.design) * self.replicates


def problem(bounds: dict[str, tuple[float, float]] = BOUNDS) -> dict:
    """SALib problem for ``bounds``, each checked against the parameter's declared range."""
    table = specs()
    for name, (lo, hi) in bounds.items():
        spec = table.get(name)
        if spec is None or spec.kind != "float":
            raise ParameterError(f"The sensitivity parameter {name!r} must be a float parameter. Got {name!r}.")
        if not spec.low <= lo < hi <= spec.high:
            raise ParameterError(f"The {name!r} range must lie within [{spec.low:g}, {spec.high:g}] with "
                                 f"low < high. Got [{lo:g}, {hi:g}] instead.")
    return {"num_vars": len(bounds), "names": list(bounds), "bounds": [list(b) for b in bounds.values()]}


def default_base() -> Params:
    """The baseline scenario with :data:`BASE_OVERRIDES`."""
    from model.sim.scenarios import load_scenario

    return load_scenario("baseline").params.replace(**BASE_OVERRIDES)


def evaluate(base: Params, prob: dict, design: np.ndarray, replicates: int, seed: int = 0,
             chunk: int = CHUNK) -> pd.DataFrame:
    """Outcomes per design point, replicates aggregated (see the module docstring).

    Besides :data:`OUTCOMES`, ``spiral_prk_cap_share`` is the share of replicates that spiral with
    North Korea ending at its burden cap (to tell what a spiral consists of).

    Args:
        base: parameters shared by every run (its ``until`` is the outcome year).
        prob: SALib problem.
        design: ``(P, D)`` parameter values.
        replicates: runs per design point (seeds ``seed + r``).
        seed: root seed.
        chunk: runs per call of the batch engine.
    """
    from model.batch.engine import run_batch

    n_points = len(design)
    point = np.repeat(np.arange(n_points), replicates)
    seeds = np.tile(seed + np.arange(replicates), n_points)
    parts = []
    # North Korea's cap (a documented assumption, not data) is the usual way a run "spirals": record it
    prk_cap = base["burden_cap_prk"] if "PRK" in base.countries else np.inf
    for lo in range(0, len(point), chunk):
        sel = slice(lo, lo + chunk)
        varied = {name: design[point[sel], i] for i, name in enumerate(prob["names"])}
        runs, _ = run_batch(base, varied, seeds[sel], engine="fast", paths=False)
        spiral = (runs["escalation"] == "spiral").to_numpy()
        prk_end = runs["final_burden_prk"].to_numpy() if "PRK" in base.countries else np.zeros(len(spiral))
        parts.append(pd.DataFrame({
            "point": point[sel],
            "burden_jpn_2035": runs["final_burden_jpn"].to_numpy(),
            "regional_spending_growth": runs["regional_spending_growth"].to_numpy(),
            "spiral_share": spiral.astype(float),
            "spiral_prk_cap_share": (spiral & (prk_end >= prk_cap - 1e-9)).astype(float),
        }))
    agg = pd.concat(parts).groupby("point").mean()
    out = pd.DataFrame(design, columns=prob["names"])
    return pd.concat([out, agg.reset_index(drop=True)], axis=1)


def analyse(prob: dict, outcomes: pd.DataFrame, seed: int = 0, resamples: int = 200) -> pd.DataFrame:
    """First- and total-order indices with 95% bootstrap confidence half-widths, per outcome.

    The indices come from :func:`model.charts.sweep.sobol_table` (the same estimator as for sweep
    folders), given the design points as an in-memory Saltelli result with one row per point; the
    bootstrap is seeded with ``seed + BOOTSTRAP_SEED_OFFSET`` (see :data:`BOOTSTRAP_SEED_OFFSET`).
    Outcomes without variation over the design, or constant within SALib's sample blocks or one of
    their bootstrap resamples (where :func:`~model.charts.sweep.sobol_table` refuses them), get NaN
    indices (0/0, not zero).
    """
    names = list(prob["names"])
    # columns renamed so that sobol_table reads them as they are (it derives "spiral_share" from per-run
    # classes, which here are already averaged per design point)
    column = {name: f"point_{name}" for name in OUTCOMES}
    runs = outcomes[names + list(OUTCOMES)].rename(columns=column)
    runs.insert(0, "run", np.arange(len(runs)))
    runs.insert(1, "design_point", np.arange(len(runs)))
    runs.insert(2, "replicate", 0)
    runs.insert(3, "seed", seed)
    manifest = {"design": {"kind": "sobol", "varied": names, "calc_second_order": False,
                           "problem": {"num_vars": prob["num_vars"], "names": names, "bounds": prob["bounds"]},
                           "n_points": len(runs)},
                "replicates": 1, "n_runs": len(runs)}
    design = Results(path=Path("sensitivity"), manifest=manifest, runs=runs)
    rows = []
    for name in OUTCOMES:
        y = outcomes[name].to_numpy(float)
        table = None
        if np.ptp(y) > 0 and np.all(np.isfinite(y)):
            try:
                table = sobol_table(design, [column[name]], num_resamples=resamples, conf_level=0.95,
                                    seed=seed).set_index("parameter")
            except ParameterError:  # constant within SALib's sample blocks (or a resample): undefined
                table = None
        for p in names:  # no variation: the indices are undefined (0/0), not zero
            rows.append({"outcome": name, "parameter": p,
                         **{k: np.nan if table is None else float(table.loc[p, k])
                            for k in ("S1", "S1_conf", "ST", "ST_conf")},
                         "mean": float(np.mean(y)), "sd": float(np.std(y))})
    return pd.DataFrame(rows)


def run_sensitivity(base: Params | None = None, n: int = 256, replicates: int = 8, seed: int = 0,
                    bounds: dict[str, tuple[float, float]] = BOUNDS) -> Sensitivity:
    """Sample, run and analyse (see the module docstring).

    Args:
        base: shared parameters (default :func:`default_base`); its ``until`` is set to :data:`HORIZON`.
        n: Saltelli base sample size (a power of 2); ``n * (D + 2)`` design points.
        replicates: seeded runs per design point.
        seed: root seed (Sobol' scrambling, run seeds ``seed + r``, bootstrap ``seed + 1``).
        bounds: parameter ranges.
    """
    if n < 2 or n & (n - 1):
        raise ParameterError(f"The Sobol sample size must be a power of 2 (>= 2). Got {n!r} instead.")
    if replicates < 1:
        raise ParameterError(f"The number of replicates must be at least 1. Got {replicates!r} instead.")
    # the outcomes are read at the end of the runs: every base must end in HORIZON
    base = (default_base() if base is None else base).replace(until=HORIZON)
    prob = problem(bounds)
    design = sobol_sample.sample(prob, n, calc_second_order=False, scramble=True, seed=seed)
    outcomes = evaluate(base, prob, design, replicates, seed)
    return Sensitivity(prob, base, design, outcomes, analyse(prob, outcomes, seed), n, replicates, seed)


def plot_indices(indices: pd.DataFrame, title: str = "") -> Figure:
    """Bar chart of S1 and ST with 95% confidence intervals, one panel per outcome."""
    outcomes = list(dict.fromkeys(indices["outcome"]))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(4.6 * len(outcomes), 4.8), layout="constrained",
                             sharey=True, squeeze=False)
    for ax, name in zip(axes[0], outcomes):
        d = indices[indices["outcome"] == name]
        ypos = np.arange(len(d))[::-1]
        if d["ST"].isna().all():
            why = "no variation over the design" if d["sd"].iloc[0] == 0 else "constant within the sample blocks"
            ax.text(0.5, 0.5, f"{why}:\nindices undefined", ha="center",
                    va="center", transform=ax.transAxes, fontsize=10, color="0.3")
        ax.barh(ypos + 0.2, d["S1"], height=0.38, xerr=d["S1_conf"], color="#4f9fd8",
                label="first order S1", capsize=2, error_kw={"lw": 0.8})
        ax.barh(ypos - 0.2, d["ST"], height=0.38, xerr=d["ST_conf"], color="#c8102e",
                label="total order ST", capsize=2, error_kw={"lw": 0.8})
        ax.set_yticks(ypos, d["parameter"])
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_xlabel("Sobol index (share of output variance)")
        mean, sd = d["mean"].iloc[0], d["sd"].iloc[0]
        ax.set_title(f"{OUTCOMES.get(name, name)}\nmean {mean:.3g}, sd {sd:.2g}", fontsize=10)
        ax.grid(alpha=0.3, axis="x")
    axes[0][0].legend(loc="lower right", fontsize=8)
    fig.suptitle(title or "Sobol sensitivity indices (bars: 95% bootstrap confidence intervals)", fontsize=12)
    return fig
