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

The difference against the first experiment (B - A) is **paired** when the two sweeps share seeds
(:func:`pairing`: every run of one has a run of the other with the same design point, replicate
and seed, as two sweeps of the same experiment file on different base scenarios do): then each
pair's difference b_i - a_i is taken, the differences are averaged over the same units as above
(replicates, Saltelli blocks or runs) and the 95% interval is the Student-t interval over those
unit differences (:func:`paired_interval`). Shared shocks cancel, so this interval is narrower than
the unpaired one. Pairs where either value is missing (a crossing that one run never makes) are
left out. Otherwise the experiments are treated as independent and the difference uses Welch's
interval (standard errors added in quadrature, Welch-Satterthwaite degrees of freedom). The
``diff_method`` column says which. When the two experiments' interval units differ, the row says so
(``diff_note``) and the Markdown table of :mod:`model.charts.compare` marks the difference.

:func:`paired_path_quantiles` gives the same B - A on the burden paths (per country and year: the
spread of paired differences and the mean with its paired interval) and :func:`cell_differences`
per cell of two swept parameters; :mod:`model.charts.compare` draws them.
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


PAIR_KEYS = ("design_point", "replicate", "seed")
"""Columns that identify the same run in two sweeps that share seeds."""


def pairing(a: Results, b: Results) -> pd.DataFrame | None:
    """Row positions of paired runs ``(ia, ib)`` when the sweeps share seeds, else None.

    Two sweeps pair when every run of each has exactly one run of the other with the same design
    point, replicate and seed (and so the same random shocks).
    """
    if not all(k in a.runs.columns and k in b.runs.columns for k in PAIR_KEYS) or len(a.runs) != len(b.runs):
        return None
    left = a.runs[list(PAIR_KEYS)].reset_index(names="ia")
    right = b.runs[list(PAIR_KEYS)].reset_index(names="ib")
    if left.duplicated(list(PAIR_KEYS)).any() or right.duplicated(list(PAIR_KEYS)).any():
        return None
    merged = left.merge(right, on=list(PAIR_KEYS), how="inner")
    if len(merged) != len(a.runs):
        return None
    return merged[["ia", "ib"]]


def paired_interval(a: pd.Series, b: pd.Series, replicate: pd.Series, block: pd.Series | None = None,
                    kind: str = "") -> dict[str, float | int | str | bool]:
    """Mean of paired differences ``b - a`` and its 95% t-interval over independent units.

    Args:
        a, b: per-pair values of the two experiments, aligned (same index); pairs with a missing
            value are left out.
        replicate, block, kind: the units of :func:`mean_interval` (of the pairs, aligned).

    Returns:
        The keys of :func:`mean_interval`, for the differences.
    """
    d = pd.Series(b.to_numpy(float) - a.to_numpy(float), index=a.index)
    return mean_interval(d, replicate, block, kind)


def _paired_diff(res_a: Results, res_b: Results, row: Row, pairs: pd.DataFrame,
                 block: pd.Series | None) -> dict[str, float | int | str | bool] | None:
    va, vb = _values(res_a, row), _values(res_b, row)
    if va is None or vb is None:
        return None
    ia, ib = pairs["ia"].to_numpy(), pairs["ib"].to_numpy()
    a = va.iloc[ia].reset_index(drop=True)
    b = vb.iloc[ib].reset_index(drop=True)
    rep = res_a.runs["replicate"].iloc[ia].reset_index(drop=True)
    blk = None if block is None else block.iloc[ia].reset_index(drop=True)
    return paired_interval(a, b, rep, blk, res_a.kind)


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
        diff_high, diff_method, diff_note, unfinished (values in model units: shares of GDP and of
        runs as fractions). The first experiment's difference is 0 (no interval). ``diff_method``
        is "paired" (the sweeps share seeds; the difference is the mean of paired differences) or
        "Welch"; ``diff_note`` says when the two experiments' intervals are over different units;
        ``unfinished`` is "Unfinished sweep: x of y runs." for a sweep that has not finished, else "".
    """
    labels = list(labels) if labels is not None else unique_labels(results)
    blocks = [saltelli_blocks(res) for res in results]
    pairs = [None, *(pairing(results[0], res) for res in results[1:])]
    out = []
    for row in (key_outcomes(results) if rows is None else rows):
        first = None
        for k, (res, lab, block) in enumerate(zip(results, labels, blocks, strict=True)):
            v = _values(res, row)
            est = (mean_interval(v, res.runs["replicate"], block, res.kind) if v is not None else
                   {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "se": math.nan, "df": math.nan,
                    "n_units": 0, "ci_basis": "", "ci_approximate": False, "n_runs": 0})
            note, method = "", ""
            if first is None:
                first = est
                d, lo, hi = (0.0 if np.isfinite(est["mean"]) else math.nan), math.nan, math.nan
            elif pairs[k] is not None and (paired := _paired_diff(results[0], res, row, pairs[k], blocks[0])):
                d, lo, hi, method = paired["mean"], paired["ci_low"], paired["ci_high"], "paired"
            else:
                d, lo, hi = welch_interval(first, est)
                method = "Welch"
                if first["ci_basis"] and est["ci_basis"] and first["ci_basis"] != est["ci_basis"]:
                    note = (f"interval bases differ: {BASIS_LABEL[first['ci_basis']]} ({labels[0]}) vs "
                            f"{BASIS_LABEL[est['ci_basis']]} ({lab})")
            out.append({"outcome": row.key, "source": row.source, "experiment": lab,
                         "base_scenario": res.base_scenario, "n_runs": est["n_runs"], "n_units": est["n_units"],
                         "ci_basis": est["ci_basis"], "ci_approximate": est["ci_approximate"], "mean": est["mean"],
                         "ci_low": est["ci_low"], "ci_high": est["ci_high"], "diff_vs_first": d, "diff_low": lo,
                         "diff_high": hi, "diff_method": method, "diff_note": note,
                         "unfinished": res.incomplete_note})
    return pd.DataFrame(out)


QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def paired_path_quantiles(a: Results, b: Results, countries: Sequence[str], max_runs: int = 20_000,
                          seed: int = 0) -> tuple[pd.DataFrame, bool]:
    """B - A of each country's burden path: per year, the spread over pairs and the mean with its interval.

    With shared seeds (:func:`pairing`) the differences are taken pair by pair, at most ``max_runs``
    pairs (a seeded sample, ``default_rng(seed)``): q05..q95 are quantiles of the paired differences,
    ``mean`` their mean and ``ci_low``/``ci_high`` its 95% t-interval over the units of
    :func:`mean_interval` (replicates, Saltelli blocks or runs). Without shared seeds there are no
    pairs: ``mean`` (and ``q50``) is the difference of the mean (median) paths and no spread or
    interval is given (NaN).

    Returns:
        (table: country, year, q05, q25, q50, q75, q95, mean, ci_low, ci_high, in shares of GDP;
        whether the differences are paired).
    """
    pairs = pairing(a, b)
    cols = ["year", "country", "burden"]
    if pairs is None:
        ta = a.read_agents(cols)
        tb = b.read_agents(cols)
        ga = ta[ta["country"].isin(countries)].groupby(["country", "year"])["burden"]
        gb = tb[tb["country"].isin(countries)].groupby(["country", "year"])["burden"]
        out = pd.DataFrame({"mean": gb.mean() - ga.mean(), "q50": gb.median() - ga.median()}).reset_index()
        for q in ("q05", "q25", "q75", "q95", "ci_low", "ci_high"):
            out[q] = math.nan
        return out, False
    if len(pairs) > max_runs:
        pairs = pairs.iloc[np.sort(np.random.default_rng(seed).choice(len(pairs), max_runs, replace=False))]
    run_a = a.runs["run"].to_numpy()[pairs["ia"].to_numpy()]
    run_b = b.runs["run"].to_numpy()[pairs["ib"].to_numpy()]
    ta = a.read_agents(cols, runs=run_a)
    tb = b.read_agents(cols, runs=run_b)
    ta, tb = ta[ta["country"].isin(countries)], tb[tb["country"].isin(countries)]
    key = pd.DataFrame({"run_a": run_a, "run_b": run_b,
                        "unit": _units(a, pairs["ia"]).to_numpy()})
    ta = ta.rename(columns={"run": "run_a", "burden": "a"}).merge(key, on="run_a")
    tb = tb.rename(columns={"run": "run_b", "burden": "b"})
    both = ta.merge(tb, on=["run_b", "year", "country"])
    both["d"] = both["b"] - both["a"]
    g = both.groupby(["country", "year"])["d"]
    q = g.quantile(list(QUANTILES)).unstack()
    q.columns = ["q05", "q25", "q50", "q75", "q95"]
    units = both.groupby(["country", "year", "unit"])["d"].mean().groupby(["country", "year"])
    n = units.size()
    mean = units.mean()
    se = units.std(ddof=1) / np.sqrt(n)
    half = pd.Series(stats.t.ppf(0.5 + CONFIDENCE / 2, np.maximum(n - 1, 1)), index=n.index) * se
    half[n < 2] = math.nan
    q["mean"], q["ci_low"], q["ci_high"] = mean, mean - half, mean + half
    return q.reset_index(), True


def _units(res: Results, rows: pd.Series) -> pd.Series:
    """The interval unit of each of the given runs (row positions): replicate, Saltelli block or run."""
    runs = res.runs.iloc[rows.to_numpy()]
    if res.runs["replicate"].nunique() >= 2:
        return runs["replicate"].reset_index(drop=True)
    block = saltelli_blocks(res)
    if block is not None:
        return block.iloc[rows.to_numpy()].reset_index(drop=True)
    return runs["run"].reset_index(drop=True)


def cell_differences(a: Results, b: Results, x: str, y: str, outcome: str) -> pd.DataFrame:
    """B - A of an outcome per cell of two swept grid parameters (their values in both sweeps).

    The value of a cell is the mean over its runs of the outcome (for ``spiral_share`` and
    ``escalating_share``: the share of runs, with the counts ``k_a``/``k_b`` of runs in the class).
    With shared seeds the difference is paired (mean of the cell's paired differences, t-interval
    over its pairs); otherwise the difference of the cell means with Welch's interval over runs.
    Other varied parameters are pooled.

    Returns:
        One row per cell present in both: x, y, n_a, n_b, k_a, k_b, mean_a, mean_b, diff, diff_low,
        diff_high, paired (model units).
    """
    va, vb = a.values(outcome), b.values(outcome)
    pairs = pairing(a, b)
    rows = []
    cells_a = a.runs.groupby([x, y]).indices
    cells_b = b.runs.groupby([x, y]).indices
    pos_b = None if pairs is None else dict(zip(pairs["ia"], pairs["ib"], strict=True))
    for cell, ia in cells_a.items():
        if cell not in cells_b:
            continue
        ib = cells_b[cell]
        xa, xb = va.iloc[ia].reset_index(drop=True), vb.iloc[ib].reset_index(drop=True)
        rec = {x: cell[0], y: cell[1], "n_a": int(xa.notna().sum()), "n_b": int(xb.notna().sum()),
               "k_a": float(xa.sum()), "k_b": float(xb.sum()), "mean_a": float(xa.mean()), "mean_b": float(xb.mean())}
        in_b = set(ib.tolist())
        if pos_b is not None and all(pos_b.get(i) in in_b for i in ia):
            d = vb.iloc[[pos_b[i] for i in ia]].to_numpy() - xa.to_numpy()
            d = d[np.isfinite(d)]
            est = mean_interval(pd.Series(d), pd.Series(np.zeros(len(d))))
            rec.update(diff=est["mean"], diff_low=est["ci_low"], diff_high=est["ci_high"], paired=True)
        else:
            ea = mean_interval(xa, pd.Series(np.zeros(len(xa))))
            eb = mean_interval(xb, pd.Series(np.zeros(len(xb))))
            d, lo, hi = welch_interval(ea, eb)
            rec.update(diff=d, diff_low=lo, diff_high=hi, paired=False)
        rows.append(rec)
    return pd.DataFrame(rows)
