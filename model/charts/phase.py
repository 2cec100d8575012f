"""Phase diagrams and response curves: an outcome over the swept parameters of a sweep result.

Replicates (and parameters not on an axis) are aggregated per cell and the aggregation is stated
on the chart: the share of runs in a class, or the median of a numeric outcome. Plot functions only
read results (:class:`model.batch.store.Results`) and return a Figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import BoundaryNorm, ListedColormap, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from model.batch.store import DERIVED, Results, as_list, legend_label, unfinished_note, unique_labels
from model.charts.style import (
    ESCALATION_COLORS,
    EXPERIMENT_COLORS,
    Quantity,
    fmt,
    outcome_quantity,
    param_quantity,
    suptitle,
    text_color,
)
from model.errors import ParameterError
from model.sim.outcomes import ESCALATION


@dataclass(frozen=True)
class _Axis:
    """Cells along one parameter.

    ``cuts`` are the cell boundaries in stored units (used to assign runs to cells). A ``grid``
    axis has one cell per swept value (``values``) and is drawn with equal-width cells on index
    coordinates labelled by the values; otherwise cells are equal-width bins in parameter units.
    """

    name: str
    cuts: np.ndarray
    grid: bool
    values: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.cuts) - 1

    def index(self, values: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(self.cuts, values, side="right") - 1, 0, self.n - 1)

    @property
    def points(self) -> np.ndarray:
        """Representative parameter value of each cell (stored units)."""
        return self.values if self.grid else (self.cuts[:-1] + self.cuts[1:]) / 2

    def edges(self, scale: float) -> np.ndarray:
        return np.arange(self.n + 1) - 0.5 if self.grid else self.cuts * scale

    def centers(self, scale: float) -> np.ndarray:
        return np.arange(self.n, dtype=float) if self.grid else self.points * scale


def _axis(rs: Sequence[Results], name: str, bins: int | None = None) -> _Axis:
    """Cells of a parameter over several results: its grid values, or equal-width bins."""
    values = np.concatenate([r.runs[name].to_numpy(float) for r in rs])
    distinct = np.unique(values)
    if bins is None and (all(r.kind == "grid" for r in rs) or len(distinct) <= 12):
        if len(distinct) == 1:
            half = abs(distinct[0]) * 0.05 or 0.5
            return _Axis(name, np.array([distinct[0] - half, distinct[0] + half]), True, distinct)
        mids = (distinct[:-1] + distinct[1:]) / 2
        return _Axis(name, np.concatenate([[-np.inf], mids, [np.inf]]), True, distinct)
    lo, hi = distinct[0], distinct[-1]
    for r in rs:
        problem = r.design.get("problem") or {}
        if name in problem.get("names", []):
            b = problem["bounds"][problem["names"].index(name)]
            lo, hi = min(lo, float(b[0])), max(hi, float(b[1]))
    if bins is None:
        per_cell = max(len(values) / len(rs), 1)
        bins = int(np.clip(math.floor(math.sqrt(per_cell / 8)), 3, 15))
    return _Axis(name, np.linspace(lo, hi, bins + 1), False)


def _facet_groups(rs: Sequence[Results], facet: str | None) -> list[tuple[str, Any]]:
    """Panels along the facet parameter: ``(title, selector)``; one panel when no facet."""
    if facet is None:
        return [("", None)]
    distinct = np.unique(np.concatenate([r.runs[facet].to_numpy(float) for r in rs]))
    ax = _axis(rs, facet, bins=None if len(distinct) <= 6 else 3)
    q = param_quantity(facet)
    unit = f" {q.unit}" if q.unit else ""
    out = []
    for i in range(ax.n):
        if ax.grid:
            title = f"{facet} = {fmt(ax.values[i] * q.scale)}{unit}"
        else:
            title = f"{facet} in [{fmt(ax.cuts[i] * q.scale)}, {fmt(ax.cuts[i + 1] * q.scale)}]{unit}"
        out.append((title, (ax, i)))
    return out


def _pick_axes(r0: Results, x: str | None, y: str | None, facet: str | None, n_needed: int) -> tuple:
    varied = r0.varied
    if len(varied) < n_needed:
        raise ParameterError(f"The results folder {str(r0.path)!r} varies {len(varied)} parameter(s) "
                             f"({', '.join(varied) or 'none'}); this chart needs {n_needed}.")
    x = x or next(v for v in varied if v != y)
    if y is None and n_needed == 2:
        y = next(v for v in varied if v != x)
    for name in (x, y, facet):
        if name is not None and name not in varied:
            raise ParameterError(f"The parameter {name!r} is not varied in {str(r0.path)!r}; "
                                 f"varied: {', '.join(varied)}.")
    return x, y


def _auto_facet(rs: Sequence[Results], used: Sequence[str]) -> str | None:
    """The first other varied parameter if it takes at most 5 values (grid), else None (pool)."""
    others = [v for v in rs[0].varied if v not in used]
    if others and all(others[0] in r.varied for r in rs):
        if len(np.unique(np.concatenate([r.runs[others[0]].to_numpy(float) for r in rs]))) <= 5:
            return others[0]
    return None


def _check_outcome(rs: Sequence[Results], outcome: str) -> None:
    for r in rs:
        r.check_outcome(outcome)


def _pool_note(rs: Sequence[Results], used: Sequence[str]) -> str:
    pooled = [v for v in dict.fromkeys(v for r in rs for v in r.varied) if v not in used]
    return f"Pooled over {', '.join(pooled)} (all their sampled values)." if pooled else ""


def phase_diagram(results: Results | Sequence[Results], x: str | None = None, y: str | None = None,
                  outcome: str = "escalation", facet: str | None = "auto") -> Figure:
    """Outcome over two swept parameters, replicates (and any other parameters) aggregated per cell.

    Args:
        results: one result, or several with the same two parameters (side by side on a shared
            colour scale: one column each, or one row each when faceted; one result's facets wrap
            at three columns).
        x, y: varied parameters on the axes (default: the first two varied).
        outcome: ``"escalation"`` (colour: the most frequent class in the cell; number: the cell's
            runs in a spiral out of its runs, "3/8"), ``"spiral_share"``/``"escalating_share"``
            (colour: % of runs; number: "3/8"), or any
            numeric outcome column (median over the cell's runs, in display units).
        facet: a third varied parameter to draw one panel per value (or per third of its range);
            ``"auto"`` facets over the third varied parameter when it takes at most 5 values and
            otherwise pools it; ``None`` pools every other parameter (stated under the chart).
    """
    rs = as_list(results)
    x, y = _pick_axes(rs[0], x, y, None, 2)
    for r in rs[1:]:
        if x not in r.varied or y not in r.varied:
            raise ParameterError(f"The results folder {str(r.path)!r} does not vary both {x!r} and {y!r}; "
                                 f"phase diagrams side by side need the same axes.")
    _check_outcome(rs, outcome)
    if facet == "auto":
        facet = _auto_facet(rs, (x, y))
    elif facet is not None:
        _pick_axes(rs[0], facet, None, None, 1)
    ax_x, ax_y = _axis(rs, x), _axis(rs, y)
    groups = _facet_groups(rs, facet)
    labels = unique_labels(rs)
    qx, qy, qo = param_quantity(x), param_quantity(y), outcome_quantity(outcome)
    categorical = outcome == "escalation"

    # aggregate every panel first, so that the colour scale is shared
    panels = []
    for r in rs:
        ix, iy = ax_x.index(r.runs[x].to_numpy(float)), ax_y.index(r.runs[y].to_numpy(float))
        row = []
        for _, sel in groups:
            mask = np.ones(len(r.runs), bool)
            if sel is not None:
                fax, k = sel
                mask = fax.index(r.runs[facet].to_numpy(float)) == k
            row.append(_aggregate(r, outcome, ix[mask], iy[mask], mask, ax_x.n, ax_y.n))
        panels.append(row)
    if categorical:
        cmap = ListedColormap([ESCALATION_COLORS[c] for c in ESCALATION])
        norm = BoundaryNorm([-0.5, 0.5, 1.5, 2.5], cmap.N)
    else:
        allv = np.concatenate([p[0][np.isfinite(p[0])] for row in panels for p in row]) if panels else np.array([])
        allv = allv * qo.scale
        lo, hi = (float(allv.min()), float(allv.max())) if allv.size else (0.0, 1.0)
        if outcome in DERIVED:
            cmap, norm = plt.get_cmap("Reds"), plt.Normalize(0, 100)
        elif lo < 0 < hi:
            cmap, norm = plt.get_cmap("RdBu_r"), TwoSlopeNorm(0, lo, hi)
        else:
            cmap, norm = plt.get_cmap("viridis"), plt.Normalize(lo, hi if hi > lo else lo + 1)

    # several experiments without facets sit side by side; one experiment's facets wrap at three
    # columns; several experiments with facets take one row each
    if len(groups) == 1:
        nrow, ncol = 1, len(rs)
        place = {(i, 0): (0, i) for i in range(len(rs))}
    elif len(rs) == 1:
        ncol = min(3, len(groups))
        nrow = math.ceil(len(groups) / ncol)
        place = {(0, j): divmod(j, ncol) for j in range(len(groups))}
    else:
        nrow, ncol = len(rs), len(groups)
        place = {(i, j): (i, j) for i in range(len(rs)) for j in range(len(groups))}
    used = set(place.values())
    fig, axes = plt.subplots(nrow, ncol, figsize=(max(7.5, 1.8 + 4.3 * ncol), 1.6 + 3.6 * nrow), squeeze=False,
                             sharex=True, sharey=True, layout="constrained")
    fig.get_layout_engine().set(wspace=0.06, hspace=0.06)  # keep edge tick labels of neighbours apart
    annotate = ax_x.n * ax_y.n <= 144
    mesh = None
    for i, r in enumerate(rs):
        for j, (ftitle, _) in enumerate(groups):
            row, col = place[i, j]
            ax = axes[row, col]
            value, spiral, count = panels[i][j]
            shown = value if categorical else value * qo.scale
            ax.set_facecolor("0.85")
            mesh = ax.pcolormesh(ax_x.edges(qx.scale), ax_y.edges(qy.scale), np.ma.masked_invalid(shown).T,
                                 cmap=cmap, norm=norm, edgecolor="white", linewidth=0.5)
            if annotate:
                _annotate_cells(ax, ax_x, ax_y, qx, qy, shown, spiral, count, categorical, cmap, norm,
                                percent=outcome in DERIVED)
            if ax_x.grid:
                ax.set_xticks(ax_x.centers(qx.scale), [fmt(v * qx.scale) for v in ax_x.values])
            if ax_y.grid:
                ax.set_yticks(ax_y.centers(qy.scale), [fmt(v * qy.scale) for v in ax_y.values])
            head = [t for t in (legend_label(r, labels[i]) if len(rs) > 1 else "", ftitle) if t]
            ax.set_title("\n".join(head), fontsize=10)
            if (row + 1, col) not in used:
                ax.set_xlabel(qx.axis)
            if col == 0:
                ax.set_ylabel(qy.axis)
            ax.tick_params(axis="x", labelbottom=True)
    for row in range(nrow):
        for col in range(ncol):
            if (row, col) not in used:
                axes[row, col].set_visible(False)
    if categorical:
        handles = [Patch(color=ESCALATION_COLORS[c], label=c) for c in ESCALATION]
        handles.append(Patch(facecolor="0.85", edgecolor="0.6", label="no runs"))
        fig.legend(handles=handles, loc="outside lower center", ncol=4, title="Most frequent class", fontsize=9)
        what = ("Escalation phase diagram: most frequent class per cell"
                + (" (numbers: runs in a spiral / runs in the cell, if any)" if annotate else ""))
    else:
        cb = fig.colorbar(mesh, ax=[axes[rc] for rc in sorted(used)], shrink=0.85, pad=0.02)
        parts = ", ".join(t for t in (qo.unit, "" if outcome in DERIVED else "median per cell") if t)
        cb.set_label(f"{qo.label}\n({parts})")
        what = f"{qo.label}: {'share' if outcome in DERIVED else 'median'} of runs per cell" + (
            " (numbers: runs / runs in the cell)" if annotate and outcome in DERIVED else "")
    subject = legend_label(rs[0], labels[0]) if len(rs) == 1 else f"{len(rs)} experiments"
    cells = "one cell per swept value" if ax_x.grid and ax_y.grid else "equal-width cells over the sampled range"
    note = _pool_note(rs, [v for v in (x, y, facet) if v])
    suptitle(fig, "\n".join(t for t in (what, f"{subject}: {cells}, all replicates pooled", note,
                                         unfinished_note(rs, labels)) if t))
    return fig


def _aggregate(r: Results, outcome: str, ix: np.ndarray, iy: np.ndarray, mask: np.ndarray, nx: int,
               ny: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cell: value (modal class code / share / median), spiral share and number of runs."""
    df = pd.DataFrame({"ix": ix, "iy": iy})
    value = np.full((nx, ny), np.nan)
    spiral = np.full((nx, ny), np.nan)
    count = np.zeros((nx, ny), int)
    if outcome == "escalation":
        codes = r.runs["escalation_code"].to_numpy()[mask]
        df["code"] = codes
        counts = df.groupby(["ix", "iy"])["code"].value_counts().unstack(fill_value=0)
        counts = counts.reindex(columns=range(len(ESCALATION)), fill_value=0)
        tot = counts.sum(axis=1)
        # ties go to the more escalated class (reversed argmax)
        modal = len(ESCALATION) - 1 - np.argmax(counts.to_numpy()[:, ::-1], axis=1)
        for (a, b), m, s, n in zip(counts.index, modal, counts[2] / tot, tot, strict=True):
            value[a, b], spiral[a, b], count[a, b] = m, s, n
        return value, spiral, count
    df["v"] = r.values(outcome).to_numpy()[mask]
    agg = df.groupby(["ix", "iy"])["v"].agg(["mean" if outcome in DERIVED else "median", "size"])
    for (a, b), (v, n) in zip(agg.index, agg.to_numpy(), strict=True):
        value[a, b], count[a, b] = v, n
    return value, spiral, count


def _annotate_cells(ax, ax_x: _Axis, ax_y: _Axis, qx: Quantity, qy: Quantity, shown: np.ndarray,
                    spiral: np.ndarray, count: np.ndarray, categorical: bool, cmap, norm,
                    percent: bool = False) -> None:
    """Write each cell's number: runs out of the cell's runs ("3/8") for classes and shares, else the value."""
    small = ax_x.n * ax_y.n > 49
    xc, yc = ax_x.centers(qx.scale), ax_y.centers(qy.scale)
    for a in range(ax_x.n):
        for b in range(ax_y.n):
            n = count[a, b]
            if n == 0:
                continue
            if categorical or percent:  # a share of the cell's runs, written as a count of them
                share = spiral[a, b] if categorical else shown[a, b] / 100
                if not np.isfinite(share) or categorical and share == 0:
                    continue
                text = f"{round(share * n)}/{n}"
            else:
                v = shown[a, b]
                if not np.isfinite(v):
                    continue
                text = f"{v:.0f}" if abs(v) >= 10 else f"{v:.2g}"
            ax.text(xc[a], yc[b], text, ha="center", va="center",
                    fontsize=6.5 if small else 8, color=text_color(cmap(norm(shown[a, b]))))


def response_curve(results: Results | Sequence[Results], x: str | None = None,
                   outcome: str = "escalation") -> Figure:
    """Outcome against one swept parameter (for one-parameter sweeps), replicates pooled per value.

    Args:
        outcome: ``"escalation"`` (stacked shares of the three classes; with several results, the
            share of spirals per result), a derived share, or a numeric outcome (median and 5-95%
            band of runs per value or bin).
    """
    rs = as_list(results)
    x, _ = _pick_axes(rs[0], x, None, None, 1)
    _check_outcome(rs, outcome)
    ax_x = _axis(rs, x)
    qx, qo = param_quantity(x), outcome_quantity(outcome)
    labels = unique_labels(rs)
    fig, ax = plt.subplots(figsize=(8.5, 5), layout="constrained")
    xs = ax_x.points * qx.scale
    single = len(rs) == 1
    for i, r in enumerate(rs):
        idx = ax_x.index(r.runs[x].to_numpy(float))
        color = EXPERIMENT_COLORS[i % len(EXPERIMENT_COLORS)]
        if outcome == "escalation" and single:
            shares = pd.crosstab(idx, r.runs["escalation"], normalize="index").reindex(
                index=range(ax_x.n), columns=list(ESCALATION)).fillna(0) * 100
            gaps = np.diff(xs) if len(xs) > 1 else np.array([abs(xs[0]) or 1.0])
            bottom = np.zeros(len(xs))
            for c in ESCALATION:
                ax.bar(xs, shares[c].to_numpy(), 0.8 * float(np.min(gaps)), bottom=bottom, label=c,
                       color=ESCALATION_COLORS[c], edgecolor="white")
                bottom += shares[c].to_numpy()
            ax.set_ylim(0, 100)
            continue
        name = "spiral_share" if outcome == "escalation" else outcome
        v = pd.Series(r.values(name).to_numpy(), index=idx)
        g = v.groupby(level=0)
        if name in DERIVED:
            mid = g.mean().reindex(range(ax_x.n)) * 100
            ax.plot(xs, mid, "-o", color=color, label=legend_label(r, labels[i]), ms=4)
            ax.set_ylim(-3, 103)
        else:
            q = g.quantile([0.05, 0.5, 0.95]).unstack().reindex(range(ax_x.n)) * qo.scale
            ax.fill_between(xs, q[0.05], q[0.95], color=color, alpha=0.2, lw=0)
            ax.plot(xs, q[0.5], "-o", color=color, ms=4,
                    label=f"{legend_label(r, labels[i])}: median" if not single else "median")
            if single:
                ax.fill_between([], [], [], color=color, alpha=0.2, label="5-95% of runs")
    ylabel = ("Share of runs (%)" if outcome == "escalation" and single else
              outcome_quantity("spiral_share").axis if outcome == "escalation" else qo.axis)
    ax.set_ylabel(ylabel)
    ax.set_xlabel(qx.axis)
    ax.grid(alpha=0.3)
    title = (f"Escalation class by {x}" if outcome == "escalation" and single else
             f"{outcome_quantity('spiral_share').label} by {x}" if outcome == "escalation" else f"{qo.label} by {x}")
    subject = legend_label(rs[0], labels[0]) if single else f"{len(rs)} experiments"
    pooled = f"all replicates pooled per {'value' if ax_x.grid else 'bin'}"
    suptitle(fig, "\n".join(t for t in (title, f"{subject}: {pooled}", _pool_note(rs, [x]),
                                         unfinished_note(rs, labels)) if t))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9,
              title="Class" if outcome == "escalation" and single else None)
    return fig

