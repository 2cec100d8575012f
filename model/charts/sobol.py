"""The chart of Sobol sensitivity indices: first- and total-order indices with their intervals.

:func:`plot_indices` draws any table of indices (one row per outcome and parameter, as
:func:`model.analysis.sobol.analyze` gives them); :func:`sobol_indices` draws those of a Sobol sweep
result folder. Drawing only: the indices are computed in :mod:`model.analysis`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from model.analysis.sensitivity import results_design, sobol_table
from model.batch.store import Results
from model.charts.style import SOBOL_COLORS, outcome_quantity, suptitle
from model.errors import ParameterError


def plot_indices(table: pd.DataFrame, title: str, labels: Mapping[str, str] | None = None,
                 subtitles: Mapping[str, str] | None = None) -> Figure:
    """S1 and ST per parameter with error bars (interval half-widths ``S1_conf``, ``ST_conf``), one panel
    per outcome (three to a row).

    Args:
        table: columns outcome, parameter, S1, S1_conf, ST, ST_conf (and ``undefined``: why an
            outcome's indices are NaN, written in its panel).
        title: the figure title (lines separated by newlines).
        labels: panel titles by outcome (default: :func:`model.charts.style.outcome_quantity`).
        subtitles: a second title line by outcome (e.g. its mean and spread).
    """
    labels, subtitles = dict(labels or {}), dict(subtitles or {})
    outs = list(dict.fromkeys(table["outcome"]))
    params = list(dict.fromkeys(table["parameter"]))
    ncol = min(3, len(outs))
    nrow = math.ceil(len(outs) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 1.6 + (0.9 + 0.42 * len(params)) * nrow),
                             squeeze=False, sharey=True, layout="constrained")
    ypos = np.arange(len(params))
    for k, o in enumerate(outs):
        ax = axes.flat[k]
        rows = table[table["outcome"] == o]
        t = rows.set_index("parameter").reindex(params)
        ax.barh(ypos - 0.2, t["S1"], 0.38, xerr=t["S1_conf"], color=SOBOL_COLORS["S1"], capsize=2,
                label="first order S1", error_kw={"lw": 0.8})
        ax.barh(ypos + 0.2, t["ST"], 0.38, xerr=t["ST_conf"], color=SOBOL_COLORS["ST"], capsize=2,
                label="total order ST", error_kw={"lw": 0.8})
        ax.axvline(0, color="0.3", lw=0.8)
        if t["ST"].isna().all():
            why = str(rows["undefined"].iloc[0]) if "undefined" in rows and rows["undefined"].iloc[0] else "no result"
            ax.text(0.5, 0.5, f"{why}:\nindices undefined", ha="center", va="center", transform=ax.transAxes,
                    fontsize=10, color="0.3")
            ax.set_xlim(-0.05, 1.0)
        else:
            ax.set_xlim(min(-0.05, float(np.nanmin(t["S1"] - t["S1_conf"])) - 0.02),
                        max(1.0, float(np.nanmax(t["ST"] + t["ST_conf"])) + 0.02))
        head = labels.get(o) or outcome_quantity(o).label
        ax.set_title(head + (f"\n{subtitles[o]}" if subtitles.get(o) else ""), fontsize=10)
        ax.set_xlabel("Sobol index (share of output variance)")
        ax.grid(alpha=0.3, axis="x")
    for ax in axes.flat[len(outs):]:
        ax.set_visible(False)
    axes[0, 0].set_yticks(ypos, params)
    axes[0, 0].invert_yaxis()
    for row in axes:
        row[0].set_ylabel("Varied parameter")
    handles, lbls = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, [f"{lab} (error bar: 95% bootstrap interval)" for lab in lbls], loc="outside lower center",
               ncol=2, fontsize=9)
    suptitle(fig, title)
    return fig


def sobol_indices(results: Results, outcomes: Sequence[str] | None = None, num_resamples: int = 200,
                  table: pd.DataFrame | None = None) -> Figure:
    """First-order (S1) and total-order (ST) Sobol indices with 95% bootstrap intervals, per outcome,
    of a Sobol sweep result.

    Args:
        outcomes: outcome columns or derived shares (default: regional growth, spiral share,
            security-dilemma index and allies' final burdens, skipping unusable ones).
        table: a precomputed :func:`model.analysis.sensitivity.sobol_table` (to draw and write the
            same numbers).
    """
    design = results_design(results)
    if table is None:
        table = sobol_table(results, outcomes, num_resamples=num_resamples)
    if table.empty:
        raise ParameterError(f"No outcome in {str(results.path)!r} varies over the Sobol design.")
    n = results.design.get("n", "?")
    params = table["parameter"].nunique()
    lines = [f"Sobol sensitivity indices: {results.label}\nSaltelli design, N = {n}, {params} parameters, "
             f"{results.n_points:,} points × {results.replicates} replicate(s), averaged per point"]
    if results.incomplete_note:
        lines.append(f"{results.incomplete_note} Indices from the {design.used_blocks:,} complete Saltelli blocks "
                     f"of {design.n_blocks:,}.")
    return plot_indices(table, "\n".join(lines))
