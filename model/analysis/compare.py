"""Comparing sweep results: key outcomes per experiment with intervals, and their differences.

:func:`difference_table` reads loaded result folders (:class:`model.batch.store.Results`) and
returns, per key outcome (:func:`key_outcomes`) and experiment, the mean, its 95% interval and the
difference against the first experiment, in model units (shares of GDP and of runs as fractions).
:mod:`model.charts.compare` writes the comparison folder (``armsrace compare``): these numbers in
display units as ``differences.csv`` / ``differences.md``, and the charts overlaid.

Intervals. Each experiment's value of an outcome is the mean of its interval units (below; the
mean over runs unless values are missing). Its 95% interval is a Student-t interval over units,
mean(m) +- t(0.975, n-1) * sd(m) / sqrt(n), where the units m_1..m_n (``ci_basis``) are:

* ``replicates`` when there are at least two: the outcome averaged over the design points within
  each replicate (a replicate is one full pass over the design with its own seeds), R independent
  means;
* ``blocks`` for a Sobol design with one replicate: the mean of each Saltelli block of 2D+2 design
  points (D+2 without second order). The rows of a block share coordinates (A, B and their
  cross-combinations), so they are not independent; the blocks are;
* ``runs`` otherwise. For LHS this is flagged approximate (``ci_approximate``): the points are
  stratified, not independent draws, and the interval treats them as independent (usually
  conservative). For a deterministic grid it describes the spread of the design, not noise.

The difference against the first experiment uses Welch's interval (standard errors added in
quadrature, Welch-Satterthwaite degrees of freedom): the experiments are treated as independent
(no pairing of seeds). When the two experiments' interval units differ, the row says so
(``diff_note``) and the Markdown table of :mod:`model.charts.compare` marks the difference.
Crossing years average only the runs that cross; the share of runs that cross is a separate row.
An unfinished sweep (fewer runs than its manifest declares) is named in the ``unfinished`` column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from model.analysis.sobol import block_size, problem_of
from model.batch.store import Results, unique_labels
from model.sim.outcomes import ESCALATION, THRESHOLDS
from model.sim.params import ALLIES, COUNTRIES

CONFIDENCE = 0.95
BASIS_LABEL = {"replicates": "replicate means", "blocks": "Saltelli block means", "runs": "runs"}
"""How each interval basis (``ci_basis``) is named in the Markdown table."""


@dataclass(frozen=True)
class Row:
    """One outcome of the table and how to get its per-run values.

    Attributes:
        key: the outcome's name in the table.
        source: the runs column it is computed from (for ``class``: the escalation class).
        kind: ``"value"``: the column; ``"class"``: 1 if the run's class is ``source``;
            ``"crossed"``: 1 if the crossing-year column is not NaN (the share of runs that cross).
    """

    key: str
    source: str
    kind: str = "value"


def key_outcomes(results: Sequence[Results]) -> list[Row]:
    """The outcomes compared: class shares, regional outcomes, final burdens, allies' crossings."""
    columns = set().union(*(set(r.runs.columns) for r in results))
    rows = [Row(f"share_{c}", c, "class") for c in ESCALATION]
    rows += [Row(col, col) for col in ("regional_spending_growth", "regional_burden_end", "security_dilemma_index")]
    rows += [Row(f"final_burden_{iso.lower()}", f"final_burden_{iso.lower()}") for iso in COUNTRIES
             if f"final_burden_{iso.lower()}" in columns]
    for iso in ALLIES:
        for level in THRESHOLDS:
            col = f"cross_{level}_{iso.lower()}"
            if col in columns:
                rows += [Row(f"crossed_{level}_{iso.lower()}", col, "crossed"), Row(col, col)]
    if "stability_radius" in columns:
        rows.append(Row("stability_radius", "stability_radius"))
    return rows


def _values(res: Results, row: Row) -> pd.Series | None:
    if row.kind == "class":
        return (res.runs["escalation"] == row.source).astype(float)
    if row.source not in res.runs.columns:
        return None
    v = pd.to_numeric(res.runs[row.source], errors="coerce").astype(float)
    if row.kind == "crossed":
        return v.notna().astype(float)
    return v


def saltelli_blocks(res: Results) -> pd.Series | None:
    """Each run's Saltelli block (design point // block size) for a Sobol result, else None."""
    if res.kind != "sobol":
        return None
    problem = problem_of(res.design, res.where)
    return res.runs["design_point"] // block_size(problem["num_vars"], bool(res.design.get("calc_second_order",
                                                                                         True)))


def mean_interval(values: pd.Series, replicate: pd.Series, block: pd.Series | None = None,
                  kind: str = "") -> dict[str, float | int | str | bool]:
    """Mean and 95% t-interval over independent units (see the module docstring).

    Args:
        values: per-run values (NaN: left out).
        replicate: per-run replicate number.
        block: per-run Saltelli block (Sobol designs), the units when there is one replicate.
        kind: the design ("grid", "lhs", "sobol"): an interval over LHS runs is approximate.

    Returns:
        mean, ci_low, ci_high, se, df, n_units, ci_basis ("replicates", "blocks" or "runs"),
        ci_approximate, n_runs.
    """
    ok = values.notna()
    v, rep = values[ok], replicate[ok]
    n_runs = int(ok.sum())
    if rep.nunique() >= 2:
        units, basis = v.groupby(rep).mean(), "replicates"
    elif block is not None:
        units, basis = v.groupby(block[ok]).mean(), "blocks"
    else:
        units, basis = v, "runs"
    n = len(units)
    mean = float(units.mean()) if n else math.nan
    if n >= 2:
        se = float(units.std(ddof=1) / math.sqrt(n))
        half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * se
        low, high, df = mean - half, mean + half, n - 1
    else:
        se, low, high, df = math.nan, math.nan, math.nan, math.nan
    return {"mean": mean, "ci_low": low, "ci_high": high, "se": se, "df": df, "n_units": n, "ci_basis": basis,
            "ci_approximate": basis == "runs" and kind == "lhs", "n_runs": n_runs}


def welch_interval(a: dict, b: dict) -> tuple[float, float, float]:
    """Difference b - a of two means and its 95% Welch interval."""
    d = b["mean"] - a["mean"]
    va, vb = a["se"] ** 2, b["se"] ** 2
    if not (np.isfinite(va) and np.isfinite(vb)):
        return d, math.nan, math.nan
    if va + vb == 0:
        return d, d, d
    df = (va + vb) ** 2 / ((va ** 2 / a["df"] if va else 0) + (vb ** 2 / b["df"] if vb else 0))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df)) * math.sqrt(va + vb)
    return d, d - half, d + half


def difference_table(results: Sequence[Results], labels: Sequence[str] | None = None,
                     rows: Sequence[Row] | None = None) -> pd.DataFrame:
    """Mean of each key outcome per experiment, its 95% interval, and the difference vs the first.

    Args:
        results: loaded result folders; the first is the reference.
        labels: their names in the table (default :func:`model.batch.store.unique_labels`).
        rows: the outcomes (default :func:`key_outcomes`).

    Returns:
        One row per outcome and experiment: outcome, source, experiment, base_scenario,
        n_runs, n_units, ci_basis, ci_approximate, mean, ci_low, ci_high, diff_vs_first, diff_low,
        diff_high, diff_note, unfinished (values in model units: shares of GDP and of runs as
        fractions). The first experiment's difference is 0 (no interval). ``diff_note`` says when the
        two experiments' intervals are over different units; ``unfinished`` is "Unfinished sweep:
        x of y runs." for a sweep that has not finished, else "".
    """
    labels = list(labels) if labels is not None else unique_labels(results)
    blocks = [saltelli_blocks(res) for res in results]
    out = []
    for row in (key_outcomes(results) if rows is None else rows):
        first = None
        for res, lab, block in zip(results, labels, blocks, strict=True):
            v = _values(res, row)
            est = (mean_interval(v, res.runs["replicate"], block, res.kind) if v is not None else
                   {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "se": math.nan, "df": math.nan,
                    "n_units": 0, "ci_basis": "", "ci_approximate": False, "n_runs": 0})
            note = ""
            if first is None:
                first = est
                d, lo, hi = (0.0 if np.isfinite(est["mean"]) else math.nan), math.nan, math.nan
            else:
                d, lo, hi = welch_interval(first, est)
                if first["ci_basis"] and est["ci_basis"] and first["ci_basis"] != est["ci_basis"]:
                    note = (f"interval bases differ: {BASIS_LABEL[first['ci_basis']]} ({labels[0]}) vs "
                            f"{BASIS_LABEL[est['ci_basis']]} ({lab})")
            out.append({"outcome": row.key, "source": row.source, "experiment": lab,
                         "base_scenario": res.base_scenario, "n_runs": est["n_runs"], "n_units": est["n_units"],
                         "ci_basis": est["ci_basis"], "ci_approximate": est["ci_approximate"], "mean": est["mean"],
                         "ci_low": est["ci_low"], "ci_high": est["ci_high"], "diff_vs_first": d, "diff_low": lo,
                         "diff_high": hi, "diff_note": note, "unfinished": res.incomplete_note})
    return pd.DataFrame(out)
