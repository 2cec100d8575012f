"""Scenario discovery on a finished sweep: PRIM boxes and feature scores (EMA Workbench's analysis package).

Given the runs table of a sweep (one row per run: the varied parameters and the outcomes) and an
outcome of interest -- an escalation class (``spiral``) or a boolean expression over the runs
table (``"final_burden_jpn > 0.03"``, :meth:`pandas.DataFrame.eval`) -- PRIM (Friedman & Fisher
1999; Bryant & Lempert 2010) peels the space of the varied parameters down to boxes where that
outcome is frequent. Each step of the peeling trajectory trades *coverage* (the share of all
cases of interest inside the box) against *density* (the share of the box's runs that are cases);
the box reported is the highest-coverage step whose density reaches ``threshold`` (or the densest
step). Feature scores (extra trees, seeded) rank the varied parameters by how much they explain
the outcome, box or no box.

The implementation is EMA Workbench's (``ema_workbench.analysis.prim`` and ``feature_scoring``),
installed with the ``discover`` extra; this module only prepares its inputs (PRIM 3.0.0 needs
float64 numbers and no constant columns) and collects its results. Nothing here reads a folder:
:func:`discover` takes a DataFrame (``armsrace discover`` loads it through the result store).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from model.errors import ParameterError
from model.sim.outcomes import ESCALATION

THRESHOLD = 0.8
"""Least density of the reported box (share of its runs that are cases)."""
PEEL_ALPHA = 0.05
"""Share of the runs PRIM peels off per step (0.1 above :data:`WIDE` inputs, to stay fast)."""
WIDE = 15
MIN_CASES = 5
"""Fewest runs of interest (and of the rest) PRIM is asked to separate."""
INSTALL_HINT = "install the 'discover' extra: pip install -e '.[discover]' (EMA Workbench)"


def ema_analysis() -> tuple[Any, Any, Any]:
    """EMA Workbench's ``prim``, ``feature_scoring`` and ``RuleInductionType`` (ParameterError if missing)."""
    try:
        with warnings.catch_warnings():  # "ipyparallel not installed", "altair not available"
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import feature_scoring, prim
            from ema_workbench.analysis.scenario_discovery_util import RuleInductionType
    except ImportError:
        raise ParameterError(f"Scenario discovery needs EMA Workbench, which is not installed; "
                             f"{INSTALL_HINT}.") from None
    return prim, feature_scoring, RuleInductionType


@dataclass
class Discovery:
    """The result of :func:`discover`.

    Attributes:
        outcome: the outcome as given (a class name or an expression).
        inputs: the varied parameters PRIM could use (constant ones dropped).
        n_runs, n_cases: runs, and runs where the outcome holds.
        trajectory: PRIM's peeling trajectory (``coverage, density, mass, mean, n, res_dim``), one row per step.
        chosen: the step reported (see the module docstring).
        limits: the reported box: one row per restricted parameter: ``low``, ``high`` (numbers;
            ``values`` for booleans), the parameter's range over the sweep (``min``, ``max``).
        scores: feature score per input (extra trees, sums to 1), descending.
        box: EMA's PrimBox (for its own charts), or None without cases.
    """

    outcome: str
    inputs: list[str]
    n_runs: int
    n_cases: int
    trajectory: pd.DataFrame
    chosen: int
    limits: pd.DataFrame
    scores: pd.Series
    box: Any = None

    @property
    def coverage(self) -> float:
        return float(self.trajectory.loc[self.chosen, "coverage"])

    @property
    def density(self) -> float:
        return float(self.trajectory.loc[self.chosen, "density"])

    def describe(self) -> str:
        """The box in one line per restricted parameter."""
        lines = [f"{self.outcome}: {self.n_cases:,} of {self.n_runs:,} runs ({self.n_cases / self.n_runs:.1%}); "
                 f"box {self.chosen}: coverage {self.coverage:.2f}, density {self.density:.2f}, "
                 f"{len(self.limits)} restricted parameter(s)"]
        for name, r in self.limits.iterrows():
            lines.append(f"  {name}: {_interval(r)}  (swept {_num(r['min'])} - {_num(r['max'])})")
        return "\n".join(lines)


def _num(v) -> str:
    return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)


def _interval(r: pd.Series) -> str:
    if isinstance(r["values"], str) and r["values"]:
        return f"in {{{r['values']}}}"
    return f"[{_num(r['low'])}, {_num(r['high'])}]"


def cases(runs: pd.DataFrame, outcome: str) -> np.ndarray:
    """Boolean per run: the escalation class ``outcome``, or the value of the expression ``outcome``.

    Raises:
        ParameterError: an expression that does not evaluate to one boolean per run (one line, naming it).
    """
    if outcome in ESCALATION:
        if "escalation" not in runs.columns:
            raise ParameterError(f"The '--outcome' {outcome!r} needs an 'escalation' column, which the runs lack.")
        return (runs["escalation"].astype(str) == outcome).to_numpy()
    try:
        value = runs.eval(outcome)
    except Exception as exc:  # pandas raises many types for a bad expression
        known = ", ".join(list(ESCALATION))
        raise ParameterError(f"The '--outcome' must be a class ({known}) or a boolean expression over the runs "
                             f"table's columns. Got {outcome!r} instead ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}).") from None
    arr = np.asarray(value)
    if arr.shape != (len(runs),) or arr.dtype != bool:
        raise ParameterError(f"The '--outcome' expression must give true or false for every run. Got {outcome!r}, "
                             f"which gives {arr.dtype} of shape {arr.shape} instead.")
    return arr


def prim_inputs(x: pd.DataFrame) -> pd.DataFrame:
    """Inputs as PRIM 3.0.0 handles them: constant columns dropped, numbers as float64, booleans as bool."""
    x = x.loc[:, x.nunique(dropna=False) > 1].copy()
    for c in x.columns:
        s = x[c]
        if pd.api.types.is_bool_dtype(s):
            x[c] = s.astype(bool)
        elif pd.api.types.is_numeric_dtype(s):
            x[c] = s.astype("float64")
        else:
            x[c] = s.astype(str).astype("category")
    return x


def choose(trajectory: pd.DataFrame, threshold: float = THRESHOLD) -> int:
    """The highest-coverage step whose density reaches ``threshold``; else the densest step."""
    ok = trajectory.index[trajectory["density"] >= threshold]
    return int(ok[0]) if len(ok) else int(trajectory["density"].idxmax())


def discover(runs: pd.DataFrame, inputs: list[str], outcome: str, threshold: float = THRESHOLD,
             seed: int = 0) -> Discovery:
    """PRIM box and feature scores of ``outcome`` over ``inputs`` (see the module docstring).

    Args:
        runs: one row per run, with the ``inputs`` columns and the outcome's columns.
        inputs: the varied parameters.
        outcome: an escalation class or a boolean expression over ``runs``.
        threshold: least density of the reported box, in (0, 1].
        seed: seed of the feature scores' extra trees.

    Raises:
        ParameterError: no runs, no varied input, a bad outcome, too few cases (or non-cases) to
            separate, a bad threshold, or EMA Workbench missing.
    """
    if not 0 < threshold <= 1:
        raise ParameterError(f"The '--threshold' must be a number in (0, 1]. Got {threshold!r} instead.")
    if runs.empty:
        raise ParameterError("The sweep has no runs to discover anything in. Got an empty runs table.")
    y = cases(runs, outcome)
    x = prim_inputs(runs[inputs])
    if x.empty:
        raise ParameterError(f"Scenario discovery needs at least one varied parameter that takes two values. "
                             f"Got {', '.join(inputs) or 'none'}.")
    n_cases = int(y.sum())
    if min(n_cases, len(y) - n_cases) < MIN_CASES:
        raise ParameterError(f"The outcome {outcome!r} holds in {n_cases} of {len(y)} runs; PRIM needs at least "
                             f"{MIN_CASES} runs where it holds and {MIN_CASES} where it does not.")
    prim, feature_scoring, rule = ema_analysis()
    alpha = PEEL_ALPHA if x.shape[1] <= WIDE else 2 * PEEL_ALPHA
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        box = prim.Prim(x, y, peel_alpha=alpha, paste_alpha=PEEL_ALPHA, mass_min=0.05).find_box()
        trajectory = box.peeling_trajectory.copy()
        chosen = choose(trajectory, threshold)
        box.select(chosen)
        # scikit-learn takes seeds below 2**32: any valid seed maps to one through numpy's SeedSequence
        state = int(np.random.SeedSequence(seed).generate_state(1)[0])
        scores, _ = feature_scoring.get_ex_feature_scores(x, y, mode=rule.CLASSIFICATION, random_state=state)
    scores = scores[1].rename("score")
    scores.index.name = "parameter"
    return Discovery(outcome, list(x.columns), len(y), n_cases, trajectory, chosen, box_limits(box, x), scores, box)


def box_limits(box, x: pd.DataFrame) -> pd.DataFrame:
    """The selected box's restricted parameters: low, high (or the kept values of a boolean), swept range."""
    lim = box.box_lim
    rows = {}
    for c in x.columns:
        lo, hi = lim.loc[0, c], lim.loc[1, c]
        if isinstance(lo, (set, frozenset)):
            full = set(x[c].unique())
            if set(lo) >= full:
                continue
            rows[c] = {"low": np.nan, "high": np.nan, "values": ", ".join(map(str, sorted(lo))),
                       "min": np.nan, "max": np.nan}
            continue
        xmin, xmax = float(x[c].min()), float(x[c].max())
        if lo <= xmin and hi >= xmax:
            continue
        rows[c] = {"low": float(lo), "high": float(hi), "values": "", "min": xmin, "max": xmax}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["low", "high", "values", "min", "max"])
    out.index.name = "parameter"
    return out
