"""Charts of scenario discovery (:mod:`model.analysis.discover`): the peeling trajectory, the box, feature scores.

Plot functions read a :class:`~model.analysis.discover.Discovery` and return a Figure; callers save them.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure

from model.analysis.discover import Discovery
from model.charts.style import OKABE_ITO


def plot_trajectory(d: Discovery) -> Figure:
    """PRIM's peeling trajectory: density against coverage, one point per step coloured by the number of
    restricted parameters; the reported box ringed."""
    t = d.trajectory
    fig = Figure(figsize=(7.5, 5.2), layout="constrained")
    ax = fig.subplots()
    dims = t["res_dim"].to_numpy().astype(int)
    levels = np.arange(dims.max() + 2) - 0.5
    norm = BoundaryNorm(levels, len(levels) - 1)
    sc = ax.scatter(t["coverage"], t["density"], c=dims, cmap="viridis", norm=norm, s=22, zorder=3)
    ax.plot(t["coverage"], t["density"], color="0.7", lw=0.8, zorder=2)
    ax.scatter([d.coverage], [d.density], s=160, facecolors="none", edgecolors=OKABE_ITO["vermillion"], lw=2, zorder=4,
               label=f"reported box {d.chosen}: coverage {d.coverage:.2f}, density {d.density:.2f}")
    ax.axhline(d.n_cases / d.n_runs, color="0.4", ls=":", lw=1, label=f"share in all runs ({d.n_cases / d.n_runs:.2f})")
    cb = fig.colorbar(sc, ax=ax, ticks=np.arange(dims.max() + 1))
    cb.set_label("restricted parameters")
    ax.set_xlabel("Coverage (share of all cases inside the box)")
    ax.set_ylabel("Density (share of the box's runs that are cases)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8.5)
    fig.suptitle(f"PRIM peeling trajectory for {d.outcome!r} ({d.n_cases:,} of {d.n_runs:,} runs)", fontsize=11)
    return fig


def plot_box(d: Discovery) -> Figure:
    """The reported box: each restricted parameter's interval within its swept range."""
    lim = d.limits
    fig = Figure(figsize=(7.5, 1.6 + 0.55 * max(len(lim), 1)), layout="constrained")
    ax = fig.subplots()
    if lim.empty:
        ax.text(0.5, 0.5, "no parameter restricted: the outcome is spread over the whole sweep",
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    for k, (_, r) in enumerate(lim.iterrows()):
        y = len(lim) - 1 - k
        ax.plot([0, 1], [y, y], color="0.85", lw=8, solid_capstyle="butt")
        if r["values"]:
            ax.text(0.5, y, f"{{{r['values']}}}", ha="center", va="center", fontsize=9)
            continue
        span = (r["max"] - r["min"]) or 1.0
        lo, hi = (r["low"] - r["min"]) / span, (r["high"] - r["min"]) / span
        ax.plot([max(lo, 0), min(hi, 1)], [y, y], color=OKABE_ITO["blue"], lw=8, solid_capstyle="butt")
        ax.text(-0.02, y, f"{r['min']:.3g}", ha="right", va="center", fontsize=8, color="0.4")
        ax.text(1.02, y, f"{r['max']:.3g}", ha="left", va="center", fontsize=8, color="0.4")
        ax.text((max(lo, 0) + min(hi, 1)) / 2, y + 0.32, f"[{r['low']:.3g}, {r['high']:.3g}]", ha="center",
                fontsize=8.5)
    ax.set_yticks(np.arange(len(lim))[::-1], list(lim.index))
    ax.set_xlim(-0.15, 1.15)
    ax.set_xticks([])
    ax.set_ylim(-0.7, max(len(lim), 1) - 0.2)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("Position within the swept range (grey: swept; blue: the box)")
    fig.suptitle(f"PRIM box {d.chosen} for {d.outcome!r}: coverage {d.coverage:.2f}, density {d.density:.2f}",
                 fontsize=11)
    return fig


def plot_scores(d: Discovery) -> Figure:
    """Feature scores of the varied parameters for the outcome (extra trees; they sum to 1)."""
    s = d.scores
    fig = Figure(figsize=(7, 1.4 + 0.4 * len(s)), layout="constrained")
    ax = fig.subplots()
    ax.barh(np.arange(len(s))[::-1], s.to_numpy(), color=OKABE_ITO["blue"])
    ax.set_yticks(np.arange(len(s))[::-1], list(s.index))
    ax.set_xlabel("Feature score (extra trees, share of explained variation; sums to 1)")
    ax.grid(alpha=0.3, axis="x")
    fig.suptitle(f"Which parameters matter for {d.outcome!r}", fontsize=11)
    return fig
