"""Comparing sweep results: the same charts overlaid, and a table of differences in key outcomes.

:func:`compare` reads several result folders (``armsrace sweep`` output; see
:mod:`model.charts.sweep`) and writes, in one output folder:

* ``differences.csv`` (tidy: one row per outcome and experiment) and ``differences.md`` (one row
  per outcome, one column per experiment and per difference against the first);
* ``fan_chart`` (every experiment's median and 5-95% band per country, when agent tables exist),
  ``outcome_distributions`` (overlaid), and, when the experiments vary the same first two (or one)
  parameters, phase diagrams side by side on a shared colour scale (or response curves overlaid);
* ``compare.json``: the inputs (folders, experiment hashes) and provenance.

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
(``diff_note``) and the Markdown table marks the difference. Crossing years average only the runs
that cross; the share of runs that cross is a separate row. An unfinished sweep (fewer runs than
its manifest declares) is named in the ``unfinished`` column and under the Markdown header.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from model.batch.store import metadata, staged_output, write_csv, write_json, write_text
from model.charts.sweep import (
    Results,
    check_formats,
    fan_chart,
    load_results,
    outcome_distributions,
    outcome_quantity,
    phase_diagram,
    response_curve,
    saltelli_block,
    save_figure,
    unfinished_note,
    unique_labels,
)
from model.errors import ParameterError
from model.sim.outcomes import ESCALATION, THRESHOLDS
from model.sim.params import ALLIES, COUNTRIES

CONFIDENCE = 0.95
BASIS_LABEL = {"replicates": "replicate means", "blocks": "Saltelli block means", "runs": "runs"}
"""How each interval basis (``ci_basis``) is named in the Markdown table."""


@dataclass(frozen=True)
class Row:
    """One outcome of the table: how to get per-run values and how to show them."""

    key: str
    label: str
    unit: str
    scale: float
    source: str
    kind: str = "value"  # "value": the column; "class": 1 if escalation == source; "crossed": not NaN


def key_outcomes(results: Sequence[Results]) -> list[Row]:
    """The outcomes compared: class shares, regional outcomes, final burdens, allies' crossings."""
    columns = set().union(*(set(r.runs.columns) for r in results))
    rows = [Row(f"share_{c}", f"Runs ending {'' if c == 'stable' else 'in a '}{c}", "% of runs", 100, c, "class")
            for c in ESCALATION]
    for col in ("regional_spending_growth", "regional_burden_end", "security_dilemma_index"):
        q = outcome_quantity(col)
        rows.append(Row(col, q.label, q.unit, q.scale, col))
    for iso in COUNTRIES:
        col = f"final_burden_{iso.lower()}"
        if col in columns:
            q = outcome_quantity(col)
            rows.append(Row(col, q.label, q.unit, q.scale, col))
    for iso in ALLIES:
        for level in THRESHOLDS:
            col = f"cross_{level}_{iso.lower()}"
            if col in columns:
                q = outcome_quantity(col)
                rows.append(Row(f"crossed_{level}_{iso.lower()}", q.label.replace("first year at", "reaches"),
                                "% of runs", 100, col, "crossed"))
                rows.append(Row(col, q.label + " (runs that reach it)", "year", 1, col))
    if "stability_radius" in columns:
        q = outcome_quantity("stability_radius")
        rows.append(Row("stability_radius", q.label, q.unit, q.scale, "stability_radius"))
    return rows


def _values(res: Results, row: Row) -> pd.Series | None:
    if row.kind == "class":
        return (res.runs["escalation"] == row.source).astype(float) * row.scale
    if row.source not in res.runs.columns:
        return None
    v = pd.to_numeric(res.runs[row.source], errors="coerce").astype(float)
    if row.kind == "crossed":
        return v.notna().astype(float) * row.scale
    return v * row.scale


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


def difference_table(results: Sequence[Results], labels: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean of each key outcome per experiment, its 95% interval, and the difference vs the first.

    Returns:
        One row per outcome and experiment: outcome, label, unit, experiment, base_scenario,
        n_runs, n_units, ci_basis, ci_approximate, mean, ci_low, ci_high, diff_vs_first, diff_low,
        diff_high, diff_note, unfinished (all values in the display unit: % for shares of GDP and
        of runs). The first experiment's difference is 0 (no interval). ``diff_note`` says when the
        two experiments' intervals are over different units; ``unfinished`` is "Unfinished sweep:
        x of y runs." for a sweep that has not finished, else "".
    """
    labels = list(labels) if labels is not None else unique_labels(results)
    blocks = [res.runs["design_point"] // saltelli_block(res) if res.kind == "sobol" else None for res in results]
    rows = []
    for row in key_outcomes(results):
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
            rows.append({"outcome": row.key, "label": row.label, "unit": row.unit, "experiment": lab,
                         "base_scenario": res.base_scenario, "n_runs": est["n_runs"], "n_units": est["n_units"],
                         "ci_basis": est["ci_basis"], "ci_approximate": est["ci_approximate"], "mean": est["mean"],
                         "ci_low": est["ci_low"], "ci_high": est["ci_high"], "diff_vs_first": d, "diff_low": lo,
                         "diff_high": hi, "diff_note": note, "unfinished": res.incomplete_note})
    return pd.DataFrame(rows)


def _num(x: float, unit: str) -> str:
    if not np.isfinite(x):
        return "–"
    if unit == "year":
        return f"{x:.1f}"
    return f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"


def _basis_cell(rows: pd.DataFrame) -> str:
    """An experiment's interval basis as read from its table rows (the most frequent one)."""
    bases = rows["ci_basis"][rows["ci_basis"] != ""]
    if bases.empty:
        return "–"
    text = BASIS_LABEL[bases.mode().iloc[0]]
    return text + (" (approximate)" if rows["ci_approximate"].any() else "")


def markdown_table(table: pd.DataFrame, results: Sequence[Results], labels: Sequence[str]) -> str:
    """The difference table as Markdown: one row per outcome; means and differences with intervals."""
    lines = [f"# Comparison: {' vs '.join(labels)}", ""]
    lines.append("| Experiment | Folder | Base scenario | Design | Varied | Runs | Replicates | Interval over |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for res, lab in zip(results, labels, strict=True):
        runs = f"{len(res.runs):,}" + (f" of {res.expected_runs:,} (unfinished)" if res.incomplete_note else "")
        lines.append(f"| {lab} | `{res.path}` | {res.base_scenario or '–'} | {res.kind} | "
                     f"{', '.join(res.varied) or '–'} | {runs} | {res.replicates} | "
                     f"{_basis_cell(table[table['experiment'] == lab])} |")
    lines += ["", f"Values: mean [{CONFIDENCE:.0%} interval]. Interval: Student-t over replicate means "
              "(each replicate averaged over the design points) when an experiment has 2 or more replicates; "
              "with one, over Saltelli block means for a Sobol design (the rows of a block are not independent) "
              "and over runs otherwise (approximate for LHS: its points are stratified, not independent; for a "
              "grid, the spread of the design). Differences: against the first experiment, Welch interval "
              "(experiments independent). Shares of GDP and of runs in %; crossing years average the runs that "
              "cross.", ""]
    note = unfinished_note(results, labels)
    if note:
        lines += [f"**{note}** Its values cover the finished runs only.", ""]
    varied = {tuple(sorted(r.varied)) for r in results}
    if len(varied) > 1 or len({r.kind for r in results}) > 1:
        lines += ["**Note:** the experiments sample different parameters or designs, so differences mix the "
                  "scenario effect with the design.", ""]
    mixed = sorted(set(table["diff_note"][table["diff_note"] != ""]))
    if mixed:
        lines += ["**‡ Intervals over different units:** " + "; ".join(mixed) + ". The Welch interval of these "
                  "differences combines them as if comparable; read it as indicative.", ""]
    head = ["Outcome (unit)", *[f"{lab}" for lab in labels], *[f"{lab} − {labels[0]}" for lab in labels[1:]]]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, g in table.groupby("outcome", sort=False):
        g = g.set_index("experiment").reindex(labels)
        unit = g["unit"].iloc[0]
        cells = [f"{g['label'].iloc[0]} ({unit})"]
        for lab in labels:
            r = g.loc[lab]
            ci = f" [{_num(r['ci_low'], unit)}, {_num(r['ci_high'], unit)}]" if np.isfinite(r["ci_low"]) else ""
            cells.append(_num(r["mean"], unit) + ci)
        for lab in labels[1:]:
            r = g.loc[lab]
            ci = f" [{_num(r['diff_low'], unit)}, {_num(r['diff_high'], unit)}]" if np.isfinite(r["diff_low"]) else ""
            sign = "+" if np.isfinite(r["diff_vs_first"]) and r["diff_vs_first"] > 0 else ""
            cells.append(sign + _num(r["diff_vs_first"], unit) + ci + (" ‡" if r["diff_note"] else ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def default_out(dirs: Sequence[str | Path]) -> Path:
    """``results/compare-<a>-vs-<b>[-vs-...]`` from the folder names."""
    return Path("results") / ("compare-" + "-vs-".join(Path(d).resolve().name for d in dirs))


@dataclass
class Comparison:
    """What :func:`compare` produced: the loaded results, their labels, the table and the files."""

    results: list[Results]
    labels: list[str]
    table: pd.DataFrame
    paths: list[Path]


def comparison_charts(results: list[Results]) -> list[tuple[str, object]]:
    """Charts that apply to these results together: ``(file stem, figure factory)``."""
    out: list[tuple[str, object]] = []
    with_agents = [r for r in results if r.has_agents]
    if len(with_agents) >= 1:
        out.append(("fan_chart", lambda: fan_chart(with_agents)))
    out.append(("outcome_distributions", lambda: outcome_distributions(results)))
    firsts = {tuple(r.varied[:2]) for r in results}
    if len(firsts) == 1:
        axes = next(iter(firsts))
        if len(axes) == 2:
            for outcome in ("escalation", "spiral_share", "regional_spending_growth"):
                out.append((f"phase_{outcome}",
                            lambda o=outcome: phase_diagram(results, x=axes[0], y=axes[1], outcome=o)))
        elif len(axes) == 1:
            for outcome in ("escalation", "regional_spending_growth"):
                out.append((f"response_{outcome}", lambda o=outcome: response_curve(results, x=axes[0], outcome=o)))
    return out


def compare(dirs: Sequence[str | Path], out: str | Path, formats: Sequence[str] | str = ("png", "svg")) -> Comparison:
    """Compare two or more sweep result folders; write charts and the difference table into ``out``.

    Args:
        dirs: result folders (the first is the reference for differences).
        out: output folder (written atomically; existing files of the same name are replaced).
        formats: image formats of the charts.

    Raises:
        ParameterError: fewer than two folders, a bad folder (missing, no manifest.json, no runs),
            bad formats, or an unwritable output folder.
    """
    formats = check_formats(formats)
    if len(dirs) < 2:
        raise ParameterError(f"Comparing needs at least two result folders. Got {len(dirs)}: "
                             f"{', '.join(map(str, dirs)) or 'none'}.")
    results = [load_results(d) for d in dirs]
    labels = unique_labels(results)
    table = difference_table(results, labels)
    out = Path(out)
    names: list[str] = []
    with staged_output(out) as stage:
        write_csv(table, stage / "differences.csv")
        write_text(markdown_table(table, results, labels), stage / "differences.md")
        names += ["differences.csv", "differences.md"]
        charts = []
        for stem, make in comparison_charts(results):
            files = save_figure(make(), stage, stem, formats)
            charts.append({"stem": stem, "files": files})
            names += files
        inputs = [{"label": lab, "folder": str(r.path), "base_scenario": r.base_scenario, "design": r.kind,
                   "varied": r.varied, "n_runs": len(r.runs), "experiment_hash": r.manifest.get("experiment_hash"),
                   "manifest_sha256": r.manifest_sha256} for r, lab in zip(results, labels,
                                                                                            strict=True)]
        write_json(metadata(inputs=inputs, charts=charts, confidence=CONFIDENCE,
                            interval="Student-t over replicate means (>= 2 replicates), else over Saltelli "
                                     "block means (Sobol) or runs (approximate for LHS); differences: Welch",
                            unfinished=[lab for r, lab in zip(results, labels, strict=True) if r.incomplete_note]),
                   stage / "compare.json")
        names.append("compare.json")
    return Comparison(results=results, labels=labels, table=table, paths=[out / n for n in names])
