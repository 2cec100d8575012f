"""Comparing sweep results (``armsrace compare``): the same charts overlaid, and the table of differences.

:func:`compare` reads several result folders and writes, in one output folder:

* ``differences.csv`` (tidy: one row per outcome and experiment) and ``differences.md`` (one row
  per outcome, one column per experiment and per difference against the first): the numbers of
  :func:`model.analysis.compare.difference_table` (means, 95% intervals, Welch differences; see
  there how they are computed), shown in display units (:func:`differences`: % for shares of GDP
  and of runs);
* ``fan_chart`` (every experiment's median and 5-95% band per country, when agent tables exist),
  ``outcome_distributions`` (overlaid), and, when the experiments vary the same first two (or one)
  parameters, phase diagrams side by side on a shared colour scale (or response curves overlaid);
* ``compare.json``: the inputs (folders, experiment hashes) and provenance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from model.analysis.compare import BASIS_LABEL, CONFIDENCE, Row, difference_table, key_outcomes
from model.batch.store import (
    Results,
    load_results,
    metadata,
    staged_output,
    unfinished_note,
    unique_labels,
    write_csv,
    write_json,
    write_text,
)
from model.charts.distributions import outcome_distributions
from model.charts.fan import fan_chart
from model.charts.phase import phase_diagram, response_curve
from model.charts.style import Quantity, check_formats, outcome_quantity, save_figure
from model.errors import ParameterError

VALUE_COLUMNS = ("mean", "ci_low", "ci_high", "diff_vs_first", "diff_low", "diff_high")
"""Columns of the difference table in the outcome's unit (scaled for display)."""


def row_quantity(row: Row) -> Quantity:
    """How a row of the difference table is shown: label, unit and the factor from model units."""
    if row.kind == "class":
        return Quantity(f"Runs ending {'' if row.source == 'stable' else 'in a '}{row.source}", "% of runs", 100)
    q = outcome_quantity(row.source)
    if row.kind == "crossed":
        return Quantity(q.label.replace("first year at", "reaches"), "% of runs", 100)
    if row.source.startswith("cross_"):
        return Quantity(q.label + " (runs that reach it)", q.unit, q.scale)
    return q


def differences(results: Sequence[Results], labels: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`model.analysis.compare.difference_table` of the key outcomes in display units.

    Returns:
        One row per outcome and experiment: outcome, label, unit, experiment, base_scenario, n_runs,
        n_units, ci_basis, ci_approximate, mean, ci_low, ci_high, diff_vs_first, diff_low, diff_high,
        diff_note, unfinished (values in the unit shown: % for shares of GDP and of runs).
    """
    rows = key_outcomes(results)
    table = difference_table(results, labels, rows)
    shown = {row.key: row_quantity(row) for row in rows}
    scale = table["outcome"].map(lambda k: shown[k].scale).to_numpy()
    for col in VALUE_COLUMNS:
        table[col] = table[col] * scale
    table = table.drop(columns="source")
    table.insert(1, "label", table["outcome"].map(lambda k: shown[k].label))
    table.insert(2, "unit", table["outcome"].map(lambda k: shown[k].unit))
    return table


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


def compare(dirs: Sequence[str | Path], out: str | Path, formats: Sequence[str] | str = ("png", "svg"),
            force: bool = False) -> Comparison:
    """Compare two or more sweep result folders; write charts and the difference table into ``out``.

    Args:
        dirs: result folders (the first is the reference for differences).
        out: output folder (written atomically; a file of the same name already there is refused, unless it
            is this command's own earlier output and ``force`` is given).
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
    table = differences(results, labels)
    out = Path(out)
    names: list[str] = []
    with staged_output(out, command="compare", force=force, expect=("differences.csv", "compare.json")) as stage:
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
