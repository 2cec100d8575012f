"""Comparing sweep results (``armsrace compare``): the same charts overlaid, and the table of differences.

:func:`compare` reads several result folders and writes, in one output folder:

* ``differences.csv`` (tidy: one row per outcome and experiment) and ``differences.md`` (one row
  per outcome, one column per experiment and per difference against the first): the numbers of
  :func:`model.analysis.compare.difference_table` (means, 95% intervals, Welch differences; see
  there how they are computed), shown in display units (:func:`differences`: % for shares of GDP
  and of runs);
* differences B - A against the first experiment (A): ``fan_difference`` (per country and year,
  the spread of paired burden differences and their mean with its paired 95% interval, when the
  sweeps share seeds and keep agent tables; the difference of median paths otherwise) and, when
  both are grids over the same first two parameters, ``phase_difference_<outcome>`` (B - A per
  cell on a diverging colour scale centred on 0, cells written as counts of runs where they are
  shares); with more than two experiments, one panel (or file) per B;
* ``outcome_distributions`` (overlaid), phase diagrams side by side on a shared colour scale when
  the designs are not both grids (or response curves overlaid for one parameter), and
  ``fan_chart`` of the one experiment that has agent tables when only one has them;
* ``compare.json``: the inputs (folders, experiment hashes) and provenance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from model.analysis.compare import (
    BASIS_LABEL,
    CONFIDENCE,
    Row,
    cell_differences,
    difference_table,
    key_outcomes,
    paired_path_quantiles,
)
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
from model.charts.style import (
    COUNTRY_COLORS,
    Quantity,
    check_formats,
    fmt,
    outcome_quantity,
    param_quantity,
    save_figure,
    suptitle,
    text_color,
)
from model.errors import ParameterError
from model.sim.params import COUNTRIES, NAMES

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
              "grid, the spread of the design). Differences: B − A against the first experiment; **paired** "
              "when the two sweeps share seeds (the mean of run-by-run differences, its interval over the same "
              "units: shared shocks cancel), else Welch (experiments independent). Shares of GDP and of runs in "
              "%; crossing years average the runs that cross.", ""]
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
    methods = {lab: set(table.loc[(table["experiment"] == lab) & (table["diff_method"] != ""), "diff_method"])
               for lab in labels[1:]}
    head = ["Outcome (unit)", *[f"{lab}" for lab in labels],
            *[f"{lab} − {labels[0]}" + (f" ({'/'.join(sorted(methods[lab]))})" if methods[lab] else "")
              for lab in labels[1:]]]
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


def difference_fan(a: Results, b: Results, labels: Sequence[str]) -> Figure:
    """B - A of each country's burden path (percentage points of GDP), one panel per country.

    Paired (shared seeds): the 5-95% and 25-75% of run-by-run differences, their mean and the mean's
    paired 95% interval (dotted). Unpaired: the difference of the mean paths only (no pairs, no band).
    North Korea is left out, as in the fan chart.
    """
    countries = [c for c in COUNTRIES if c != "PRK"]
    q, paired = paired_path_quantiles(a, b, countries)
    countries = [c for c in countries if c in set(q["country"])]
    ncol = min(3, len(countries))
    nrow = math.ceil(len(countries) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.4 * ncol, 1.9 + 3.0 * nrow), squeeze=False, sharex=True,
                             sharey=True, layout="constrained")
    for k, iso in enumerate(countries):
        ax = axes.flat[k]
        c = q[q["country"] == iso].sort_values("year")
        color = COUNTRY_COLORS[iso]
        ax.axhline(0, color="black", lw=1)
        if paired:
            ax.fill_between(c["year"], c["q05"] * 100, c["q95"] * 100, color=color, alpha=0.18, lw=0)
            ax.fill_between(c["year"], c["q25"] * 100, c["q75"] * 100, color=color, alpha=0.35, lw=0)
            ax.plot(c["year"], c["ci_low"] * 100, ":", color="black", lw=1)
            ax.plot(c["year"], c["ci_high"] * 100, ":", color="black", lw=1)
        ax.plot(c["year"], c["mean"] * 100, color=color, lw=2)
        ax.set_title(f"{NAMES[iso]} ({iso})", fontsize=10)
        ax.grid(alpha=0.3)
        ax.tick_params(axis="x", labelbottom=True)
        if k % ncol == 0:
            ax.set_ylabel(f"{labels[1]} − {labels[0]}\n(pp of GDP)")
        if k >= len(countries) - ncol:
            ax.set_xlabel("Year")
    for ax in axes.flat[len(countries):]:
        ax.set_visible(False)
    dark = "0.25"
    if paired:
        handles = [Line2D([], [], color=dark, lw=2, label="mean of paired differences"),
                   Line2D([], [], color="black", ls=":", lw=1, label=f"its {CONFIDENCE:.0%} interval (paired)"),
                   Patch(color=dark, alpha=0.45, label="25-75% of pairs"), Patch(color=dark, alpha=0.2,
                                                                                label="5-95% of pairs")]
        how = "paired run by run (the sweeps share seeds: same shocks)"
    else:
        handles = [Line2D([], [], color=dark, lw=2, label="difference of the mean paths")]
        how = "not paired (the sweeps do not share seeds): difference of the mean paths, no interval"
    handles.append(Line2D([], [], color="black", lw=1, label="no difference"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 3), fontsize=9)
    suptitle(fig, f"Military burden, {labels[1]} − {labels[0]}: difference of each country's path\n{how}"
             + (f"\n{unfinished_note([a, b], labels)}" if unfinished_note([a, b], labels) else ""))
    return fig


DIFF_OUTCOMES = ("spiral_share", "escalating_share", "regional_spending_growth")
"""Outcomes drawn as phase maps of differences."""


def phase_difference(results: Sequence[Results], labels: Sequence[str], x: str, y: str, outcome: str) -> Figure:
    """B - A of an outcome per cell of two swept grid parameters, one panel per B, diverging scale centred on 0.

    Shares of runs are written as counts ("5/8 vs 3/8" would crowd the cell: "+2/8" when both cells
    hold the same number of runs, else the difference in percentage points); other outcomes as the
    difference of the cell means in display units. Other varied parameters are pooled.
    """
    a, others = results[0], list(results[1:])
    tables = [cell_differences(a, b, x, y, outcome) for b in others]
    qx, qy, qo = param_quantity(x), param_quantity(y), outcome_quantity(outcome)
    share = outcome in ("spiral_share", "escalating_share")
    scale = 100 if share else qo.scale
    unit = "percentage points of runs" if share else ("pp" if qo.unit == "%" or "% of" in qo.unit else qo.unit)
    biggest = max([float(np.nanmax(np.abs(t["diff"]))) * scale for t in tables if len(t)] + [1e-9])
    norm = TwoSlopeNorm(0, -biggest, biggest)
    cmap = plt.get_cmap("RdBu_r")
    xs = np.unique(np.concatenate([t[x] for t in tables]))
    ys = np.unique(np.concatenate([t[y] for t in tables]))
    fig, axes = plt.subplots(1, len(others), figsize=(max(7.5, 1.8 + 4.6 * len(others)), 5.2), squeeze=False,
                             sharey=True, layout="constrained")
    mesh = None
    for k, t in enumerate(tables):
        ax = axes[0, k]
        grid = np.full((len(xs), len(ys)), np.nan)
        for _, r in t.iterrows():
            i, j = int(np.searchsorted(xs, r[x])), int(np.searchsorted(ys, r[y]))
            grid[i, j] = r["diff"] * scale
            if share and r["n_a"] == r["n_b"]:
                runs = round(r["k_b"] - r["k_a"])
                text = f"{runs:+d}/{int(r['n_a'])}" if runs else f"0/{int(r['n_a'])}"
            else:
                text = f"{r['diff'] * scale:+.2g}"
            ax.text(i, j, text, ha="center", va="center", fontsize=8,
                    color=text_color(cmap(norm(r["diff"] * scale))))
        ax.set_facecolor("0.85")
        mesh = ax.pcolormesh(np.arange(len(xs) + 1) - 0.5, np.arange(len(ys) + 1) - 0.5, np.ma.masked_invalid(grid).T,
                             cmap=cmap, norm=norm, edgecolor="white", linewidth=0.5)
        ax.set_xticks(range(len(xs)), [fmt(v * qx.scale) for v in xs])
        ax.set_yticks(range(len(ys)), [fmt(v * qy.scale) for v in ys])
        ax.set_xlabel(qx.axis)
        if k == 0:
            ax.set_ylabel(qy.axis)
        method = "paired" if len(t) and t["paired"].all() else "not paired"
        ax.set_title(f"{labels[k + 1]} − {labels[0]} ({method})", fontsize=10)
    cb = fig.colorbar(mesh, ax=list(axes.flat), shrink=0.85, pad=0.02)
    cb.set_label(f"{qo.label}: B − A ({unit})\nred: higher in B, blue: lower")
    pooled = [v for v in a.varied if v not in (x, y)]
    what = f"{qo.label}, difference per cell ({'share of runs' if share else 'mean of runs'})"
    notes = [what, "Cells: " + ("runs of B minus runs of A out of the cell's runs" if share else
                                f"difference in {unit}"),
             f"Pooled over {', '.join(pooled)}." if pooled else "", unfinished_note(results, labels)]
    suptitle(fig, "\n".join(n for n in notes if n))
    return fig


def _share_cells(results: Sequence[Results], x: str, y: str) -> bool:
    """Whether every experiment has some (x, y) cell of the first (differences per cell need both)."""
    first = set(zip(results[0].runs[x], results[0].runs[y], strict=True))
    return all(first & set(zip(r.runs[x], r.runs[y], strict=True)) for r in results[1:])


def comparison_charts(results: list[Results], labels: Sequence[str] | None = None) -> list[tuple[str, object]]:
    """Charts that apply to these results together: ``(file stem, figure factory)``."""
    labels = list(labels) if labels is not None else unique_labels(results)
    out: list[tuple[str, object]] = []
    a = results[0]
    with_agents = [r for r in results if r.has_agents]
    if a.has_agents:
        for k, b in enumerate(results[1:], start=1):
            if b.has_agents:
                stem = "fan_difference" if len(results) == 2 else f"fan_difference_{k}"
                out.append((stem, lambda b=b, k=k: difference_fan(a, b, [labels[0], labels[k]])))
    if len(with_agents) == 1:
        out.append(("fan_chart", lambda: fan_chart(with_agents)))
    out.append(("outcome_distributions", lambda: outcome_distributions(results)))
    firsts = {tuple(r.varied[:2]) for r in results}
    if len(firsts) == 1:
        axes = next(iter(firsts))
        if len(axes) == 2 and all(r.kind == "grid" for r in results) and _share_cells(results, *axes):
            for outcome in DIFF_OUTCOMES:
                out.append((f"phase_difference_{outcome}",
                            lambda o=outcome: phase_difference(results, labels, axes[0], axes[1], o)))
        elif len(axes) == 2:
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
        for stem, make in comparison_charts(results, labels):
            files = save_figure(make(), stage, stem, formats)
            charts.append({"stem": stem, "files": files})
            names += files
        inputs = [{"label": lab, "folder": str(r.path), "base_scenario": r.base_scenario, "design": r.kind,
                   "varied": r.varied, "n_runs": len(r.runs), "experiment_hash": r.manifest.get("experiment_hash"),
                   "manifest_sha256": r.manifest_sha256} for r, lab in zip(results, labels,
                                                                                            strict=True)]
        write_json(metadata(inputs=inputs, charts=charts, confidence=CONFIDENCE,
                            interval="Student-t over replicate means (>= 2 replicates), else over Saltelli "
                                     "block means (Sobol) or runs (approximate for LHS); differences B - A: "
                                     "paired when the sweeps share seeds, else Welch",
                            unfinished=[lab for r, lab in zip(results, labels, strict=True) if r.incomplete_note]),
                   stage / "compare.json")
        names.append("compare.json")
    return Comparison(results=results, labels=labels, table=table, paths=[out / n for n in names])
