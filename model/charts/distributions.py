"""Outcome distributions over the runs of one or more sweep results (escalation classes, regional
growth, security-dilemma index, allies' final burdens)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from model.batch.store import Results, as_list, legend_label, unfinished_note, unique_labels
from model.charts.style import (
    COUNTRY_COLORS,
    ESCALATION_COLORS,
    EXPERIMENT_COLORS,
    REFERENCE_LINES,
    outcome_quantity,
    suptitle,
)
from model.sim.outcomes import ESCALATION
from model.sim.params import ALLIES, NAMES


def outcome_distributions(results: Results | Sequence[Results]) -> Figure:
    """Four panels: escalation class shares, regional spending growth, security-dilemma index and
    allies' final burdens (box: 25-75%, whiskers: 5-95%, line: median), over all runs.

    With several results, each is drawn in its own colour side by side (bars, boxes) or overlaid
    (histograms as shares of each experiment's runs, so different run counts compare).
    """
    rs = as_list(results)
    labels = unique_labels(rs)
    single = len(rs) == 1
    names = [legend_label(r, lab) for r, lab in zip(rs, labels, strict=True)]
    colors = [EXPERIMENT_COLORS[k % len(EXPERIMENT_COLORS)] for k in range(len(rs))]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.4), layout="constrained")
    width = 0.8 / len(rs)

    # (a) escalation classes
    ax = axes[0, 0]
    pos = np.arange(len(ESCALATION))
    for k, r in enumerate(rs):
        shares = r.runs["escalation"].value_counts(normalize=True).reindex(list(ESCALATION), fill_value=0) * 100
        xs = pos - 0.4 + width * (k + 0.5)
        bars = ax.bar(xs, shares.to_numpy(), width * 0.95,
                      color=[ESCALATION_COLORS[c] for c in ESCALATION] if single else colors[k],
                      label=names[k], edgecolor="white")
        ax.bar_label(bars, fmt="%.0f%%", fontsize=8 if len(rs) < 4 else 6.5, padding=1)
    ax.set_xticks(pos, list(ESCALATION))
    ax.set_ylim(0, 112)
    ax.set_ylabel("Share of runs (%)")
    ax.set_xlabel("Escalation class at the end of the run")
    ax.set_title("(a) Escalation class", fontsize=10, loc="left")

    # (b) regional spending growth
    ax = axes[0, 1]
    q = outcome_quantity("regional_spending_growth")
    vals = [r.values("regional_spending_growth").dropna().to_numpy() * q.scale for r in rs]
    bins = _bins(np.concatenate(vals))
    for k, v in enumerate(vals):
        w = np.full(len(v), 100 / max(len(v), 1))
        if single:
            ax.hist(v, bins=bins, weights=w, color=colors[0], alpha=0.75, edgecolor="white", label="runs")
        else:
            ax.hist(v, bins=bins, weights=w, histtype="step", lw=1.8, color=colors[k], label=names[k])
        if len(v):
            ax.axvline(np.median(v), color=colors[k], ls="--", lw=1.2,
                       label="median" if single else None)
    ax.set_xlabel(q.axis)
    ax.set_ylabel("Share of runs (%)")
    ax.set_title("(b) Regional military spending growth, start to end", fontsize=10, loc="left")

    # (c) security-dilemma index
    ax = axes[1, 0]
    sdi = [r.values("security_dilemma_index").dropna().to_numpy() for r in rs]
    levels = np.unique(np.round(np.concatenate(sdi), 6))
    if len(levels) <= 15:
        step = min(np.min(np.diff(levels)) if len(levels) > 1 else 1.0, 1 / 7)
        for k, v in enumerate(sdi):
            shares = pd.Series(np.round(v, 6)).value_counts(normalize=True).reindex(levels, fill_value=0) * 100
            ax.bar(levels - 0.4 * step + step * width * (k + 0.5), shares.to_numpy(), step * width * 0.95,
                   color=colors[k], label=names[k], edgecolor="white")
        ticks = np.arange(0, 1 + step / 2, step) if abs(1 / step - round(1 / step)) < 1e-3 else levels
        ax.set_xticks(ticks, [f"{v:.2f}" for v in ticks], fontsize=8)
    else:
        for k, v in enumerate(sdi):
            ax.hist(v, bins=np.linspace(0, 1, 21), weights=np.full(len(v), 100 / max(len(v), 1)),
                    histtype="stepfilled" if single else "step", color=colors[k], lw=1.8, label=names[k],
                    alpha=0.75 if single else 1)
    ax.set_xlim(-0.08, 1.08)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.12)  # room for the note above the bars
    ax.axvline(0.5, color="0.35", ls=":", lw=0.8)
    ax.annotate("most countries worse off →", (0.5, 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                textcoords="offset points", fontsize=8, color="0.3")
    ax.set_xlabel("Security-dilemma index (share of countries spending more and feeling less secure)")
    ax.set_ylabel("Share of runs (%)")
    ax.set_title("(c) Security-dilemma index", fontsize=10, loc="left")

    # (d) allies' final burdens
    ax = axes[1, 1]
    allies = [a for a in ALLIES if any(f"final_burden_{a.lower()}" in r.runs.columns for r in rs)]
    for k, r in enumerate(rs):
        data, where = [], []
        for j, a in enumerate(allies):
            col = f"final_burden_{a.lower()}"
            if col in r.runs.columns:
                data.append(r.runs[col].dropna().to_numpy() * 100)
                where.append(j - 0.4 + width * (k + 0.5))
        bp = ax.boxplot(data, positions=where, widths=width * 0.8, whis=(5, 95), showfliers=False,
                        patch_artist=True, manage_ticks=False)
        for j, box in enumerate(bp["boxes"]):
            box.set(facecolor=COUNTRY_COLORS[allies[j]] if single else colors[k], alpha=0.7, edgecolor="0.2")
        for med in bp["medians"]:
            med.set(color="black", lw=1.5)
    for level in REFERENCE_LINES:
        ax.axhline(level * 100, color="0.35", lw=0.8, ls=":")
        ax.annotate(f"{level * 100:g}%", (1, level * 100), xycoords=("axes fraction", "data"), xytext=(-2, 2),
                    textcoords="offset points", ha="right", fontsize=7, color="0.3")
    ax.set_xticks(range(len(allies)), [f"{NAMES[a]} ({a})" for a in allies])
    ax.set_xlim(-0.6, len(allies) - 0.4)
    ax.set_ylabel("Final military burden (% of GDP)")
    ax.set_xlabel("US ally")
    ax.set_title("(d) Allies' final burden (box 25-75%, whiskers 5-95%)", fontsize=10, loc="left")

    for ax in axes.flat:
        ax.grid(alpha=0.3, axis="y")
    if single:
        axes[0, 1].legend(fontsize=8, loc="upper right")
        r = rs[0]
        reps = f"{r.replicates} replicate{'s' if r.replicates != 1 else ''}"
        suptitle(fig, f"Outcomes of {len(r.runs):,} runs ({r.n_points:,} design points × {reps}, "
                       f"{r.kind} design)\n{names[0]}" + (f"\n{r.incomplete_note}" if r.incomplete_note else ""))
    else:
        handles = [Patch(color=colors[k], label=names[k]) for k in range(len(rs))]
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(rs), 4), fontsize=9,
                   title="Experiment (bars, histograms and boxes in the same colour)")
        note = unfinished_note(rs, labels)
        suptitle(fig, "Outcomes compared: " + " vs ".join(names)
                  + "\n(shares of each experiment's runs; " + ", ".join(f"{len(r.runs):,}" for r in rs) + " runs)"
                  + (f"\n{note}" if note else ""))
    return fig


def _bins(v: np.ndarray, n: int = 30) -> np.ndarray:
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.linspace(0, 1, n + 1)
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, n + 1)

