"""Charts of batch experiments (sweeps). Plot functions only read results and return a Figure.

A result folder written by ``armsrace sweep`` holds (the results contract):

* ``manifest.json``: the experiment, its hash, the base scenario, the design (``kind``: grid, lhs or
  sobol; ``varied`` parameter names; ``n_points``; for Sobol the SALib ``problem``, ``n`` and
  ``calc_second_order``), ``replicates``, seeds and provenance;
* ``runs/chunk-*.parquet``: one row per run (``run = design_point * replicates + replicate``):
  ``run, design_point, replicate, seed``, one column per varied parameter, and the per-run outcomes of
  :func:`model.sim.outcomes.summarise` plus ``stability_radius``;
* ``agents/chunk-*.parquet`` (optional): one row per run, year and country (``burden`` etc.).

Only the chunks the manifest marks done are read, through :func:`model.batch.store.done_chunk_files`
(the listing :func:`model.batch.store.read_runs` uses), so charts and the sweep agree on an interrupted
folder; a chart of an unfinished sweep says so ("Unfinished sweep: x of y runs").

Replicates are aggregated per chart and the aggregation is stated on it: phase diagrams show the
share of runs in a class or the median of a numeric outcome per cell; Sobol indices use the mean of
each design point's replicates (SALib's estimators need one value per sample point), over the
complete Saltelli blocks of the design.

:func:`write_plots` writes every chart that applies into ``DIR/plots/`` (atomically, through
:func:`model.batch.store.staged_output`); it is the API the browser results page calls.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap, TwoSlopeNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from model.batch.store import (  # noqa: E402
    DERIVED,
    Results,
    legend_label,
    load_results,
    staged_output,
    unfinished_note,
    unique_labels,
    write_csv,
    write_json,
)
from model.batch.store import as_list as _as_list  # noqa: E402
from model.charts.run import COLORS, REFERENCE_LINES  # noqa: E402
from model.errors import ParameterError  # noqa: E402
from model.sim.outcomes import ESCALATION  # noqa: E402
from model.sim.params import ALLIES, COUNTRIES, NAMES, specs  # noqa: E402

ESCALATION_COLORS = {"stable": "#5a9e4b", "buildup": "#e8a33d", "spiral": "#b2182b"}
"""One colour per escalation class (green: settles; amber: settles higher; red: keeps rising)."""
EXPERIMENT_COLORS = ("#1b6ca8", "#d1495b", "#2a9d8f", "#8d5fd3", "#e9a03b", "#6c757d", "#3d405b", "#a0522d")
"""Colours of experiments when several are overlaid (countries keep :data:`model.charts.run.COLORS`)."""
FORMATS = ("png", "svg", "pdf")
SOBOL_OUTCOMES = ("regional_spending_growth", "spiral_share", "security_dilemma_index", "final_burden_jpn",
                  "final_burden_kor", "final_burden_phl")
MAX_FAN_RUNS = 20_000
"""Fan charts use at most this many runs (a seeded random sample, stated on the chart) to bound memory."""

SALIB_SEED_OFFSET = 1
"""Bootstrap seed = ``seed + 1``: SALib 1.6 seeds its bootstrap only for a truthy seed (``if seed:``)."""


# ----------------------------------------------------------------------------------------------
# Names and units


@dataclass(frozen=True)
class Quantity:
    """How to show a column: axis label, unit, and the factor from stored to shown values."""

    label: str
    unit: str = ""
    scale: float = 1.0

    @property
    def axis(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label


def outcome_quantity(name: str) -> Quantity:
    """Display label, unit and scale of an outcome column (shares of GDP are shown in %)."""
    fixed = {
        "escalation": Quantity("Escalation class", "0 stable, 1 buildup, 2 spiral"),
        "escalation_code": Quantity("Escalation class", "0 stable, 1 buildup, 2 spiral"),
        "spiral_share": Quantity("Runs ending in a spiral", "% of runs", 100),
        "escalating_share": Quantity("Runs ending in a buildup or spiral", "% of runs", 100),
        "regional_burden_start": Quantity("Regional military burden at the start", "% of GDP", 100),
        "regional_burden_end": Quantity("Regional military burden at the end", "% of GDP", 100),
        "regional_spending_growth": Quantity("Regional military spending growth over the run", "%", 100),
        "security_dilemma_index": Quantity("Security-dilemma index", "share of countries, 0-1"),
        "stability_radius": Quantity("Stability radius of the threat response",
                                     "spectral radius of the reaction matrix A; <1 damped"),
    }
    if name in fixed:
        return fixed[name]
    parts = name.split("_")
    iso = parts[-1].upper()
    country = NAMES.get(iso, iso)
    if name.startswith("final_burden_"):
        return Quantity(f"{country}: final burden", "% of GDP", 100)
    if name.startswith("peak_burden_"):
        return Quantity(f"{country}: peak burden", "% of GDP", 100)
    if name.startswith("cross_"):
        level = name[len("cross_"):-len(iso) - 1].replace("_", ".").replace("pct", "%")
        return Quantity(f"{country}: first year at {level} of GDP", "year")
    return Quantity(name.replace("_", " "))


def param_quantity(name: str) -> Quantity:
    """Axis label of a varied parameter, with its unit (shares of GDP shown in %)."""
    spec = specs().get(name)
    if spec is None:
        return Quantity(name)
    if spec.unit == "share of GDP":
        return Quantity(name, "% of GDP", 100)
    return Quantity(name, spec.unit)


def _suptitle(fig: Figure, text: str, fontsize: float = 11) -> None:
    """Figure title with each line wrapped to the figure width (about 10 characters an inch)."""
    width = max(int(fig.get_figwidth() * 120 / fontsize), 30)
    fig.suptitle("\n".join(textwrap.fill(line, width) for line in text.split("\n")), fontsize=fontsize)


def _fmt(v: float) -> str:
    return f"{v:.3g}"


# ----------------------------------------------------------------------------------------------
# Phase diagrams and response curves


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
            title = f"{facet} = {_fmt(ax.values[i] * q.scale)}{unit}"
        else:
            title = f"{facet} in [{_fmt(ax.cuts[i] * q.scale)}, {_fmt(ax.cuts[i + 1] * q.scale)}]{unit}"
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
        outcome: ``"escalation"`` (colour: the most frequent class in the cell; number: % of the
            cell's runs in a spiral), ``"spiral_share"``/``"escalating_share"`` (% of runs), or any
            numeric outcome column (median over the cell's runs, in display units).
        facet: a third varied parameter to draw one panel per value (or per third of its range);
            ``"auto"`` facets over the third varied parameter when it takes at most 5 values and
            otherwise pools it; ``None`` pools every other parameter (stated under the chart).
    """
    rs = _as_list(results)
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
                ax.set_xticks(ax_x.centers(qx.scale), [_fmt(v * qx.scale) for v in ax_x.values])
            if ax_y.grid:
                ax.set_yticks(ax_y.centers(qy.scale), [_fmt(v * qy.scale) for v in ax_y.values])
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
                + (" (number: % of the cell's runs in a spiral, if any)" if annotate else ""))
    else:
        cb = fig.colorbar(mesh, ax=[axes[rc] for rc in sorted(used)], shrink=0.85, pad=0.02)
        parts = ", ".join(t for t in (qo.unit, "" if outcome in DERIVED else "median per cell") if t)
        cb.set_label(f"{qo.label}\n({parts})")
        what = f"{qo.label}: {'share' if outcome in DERIVED else 'median'} of runs per cell"
    subject = legend_label(rs[0], labels[0]) if len(rs) == 1 else f"{len(rs)} experiments"
    cells = "one cell per swept value" if ax_x.grid and ax_y.grid else "equal-width cells over the sampled range"
    note = _pool_note(rs, [v for v in (x, y, facet) if v])
    _suptitle(fig, "\n".join(t for t in (what, f"{subject}: {cells}, all replicates pooled", note,
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
    small = ax_x.n * ax_y.n > 49
    xc, yc = ax_x.centers(qx.scale), ax_y.centers(qy.scale)
    for a in range(ax_x.n):
        for b in range(ax_y.n):
            if count[a, b] == 0:
                continue
            v = spiral[a, b] * 100 if categorical else shown[a, b]
            if not np.isfinite(v) or categorical and v == 0:
                continue
            rgba = cmap(norm(shown[a, b]))
            dark = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 0.55
            text = f"{v:.0f}" if categorical or percent or abs(v) >= 10 else f"{v:.2g}"
            ax.text(xc[a], yc[b], text, ha="center", va="center",
                    fontsize=6.5 if small else 8, color="white" if dark else "black")


def response_curve(results: Results | Sequence[Results], x: str | None = None,
                   outcome: str = "escalation") -> Figure:
    """Outcome against one swept parameter (for one-parameter sweeps), replicates pooled per value.

    Args:
        outcome: ``"escalation"`` (stacked shares of the three classes; with several results, the
            share of spirals per result), a derived share, or a numeric outcome (median and 5-95%
            band of runs per value or bin).
    """
    rs = _as_list(results)
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
    _suptitle(fig, "\n".join(t for t in (title, f"{subject}: {pooled}", _pool_note(rs, [x]),
                                         unfinished_note(rs, labels)) if t))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9,
              title="Class" if outcome == "escalation" and single else None)
    return fig


# ----------------------------------------------------------------------------------------------
# Fan chart


def fan_quantiles(res: Results, countries: Sequence[str], max_runs: int = MAX_FAN_RUNS,
                  seed: int = 0) -> tuple[pd.DataFrame, int]:
    """5/25/50/75/95% quantiles of burden per country and year over runs (share of GDP).

    Returns:
        (table with columns country, year, q05, q25, q50, q75, q95; number of runs used). At most
        ``max_runs`` runs are used, drawn without replacement with ``default_rng(seed)``.
    """
    runs = res.runs["run"].to_numpy()
    use = None
    if len(runs) > max_runs:
        use = np.sort(np.random.default_rng(seed).choice(runs, max_runs, replace=False))
    table = res.read_agents(["year", "country", "burden"], runs=use)
    table = table[table["country"].isin(countries)]
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
    q = table.groupby(["country", "year"])["burden"].quantile(levels).unstack()
    q.columns = ["q05", "q25", "q50", "q75", "q95"]
    return q.reset_index(), int(table["run"].nunique())


def fan_chart(results: Results | Sequence[Results], countries: Sequence[str] | None = None,
              max_runs: int = MAX_FAN_RUNS) -> Figure:
    """Each country's burden path over all runs: median, 25-75% and 5-95% of runs (% of GDP).

    One panel per country with the 2%, 3.5% and 5% reference lines. With several results, each is
    overlaid in its own colour (median and 5-95% band). North Korea (about 20% of GDP, an estimate)
    is left out by default, as in :func:`model.charts.run.plot_burden`, and its median path is stated.

    Raises:
        ParameterError: a result has no agent tables.
    """
    rs = _as_list(results)
    labels = unique_labels(rs)
    present = [c for c in COUNTRIES if any(c.lower() in {col.split("_")[-1] for col in r.runs.columns} for r in rs)]
    present = present or list(COUNTRIES)
    if countries is None:
        countries = [c for c in present if c != "PRK"]
    countries = [c.upper() for c in countries]
    unknown = [c for c in countries if c not in COUNTRIES]
    if unknown:
        raise ParameterError(f"Unknown country {unknown[0]!r} for the fan chart; known: {', '.join(COUNTRIES)}.")
    want = list(countries) + (["PRK"] if "PRK" in present and "PRK" not in countries else [])
    data = [fan_quantiles(r, want, max_runs) for r in rs]
    single = len(rs) == 1
    ncol = min(3, len(countries))
    nrow = math.ceil(len(countries) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.4 * ncol, 1.9 + 3.0 * nrow), squeeze=False, sharex=True,
                             sharey=True, layout="constrained")
    top = 5.6
    for iso_i, iso in enumerate(countries):
        ax = axes.flat[iso_i]
        for k, (q, _) in enumerate(data):
            c = q[q["country"] == iso]
            if c.empty:
                continue
            color = COLORS[iso] if single else EXPERIMENT_COLORS[k % len(EXPERIMENT_COLORS)]
            ax.fill_between(c["year"], c["q05"] * 100, c["q95"] * 100, color=color, alpha=0.18 if single else 0.15,
                            lw=0)
            if single:
                ax.fill_between(c["year"], c["q25"] * 100, c["q75"] * 100, color=color, alpha=0.3, lw=0)
            ax.plot(c["year"], c["q50"] * 100, color=color, lw=2)
            top = max(top, float(c["q95"].max()) * 100 * 1.05)
        for level in REFERENCE_LINES:
            ax.axhline(level * 100, color="0.35", lw=0.8, ls=":")
        ax.set_title(f"{NAMES[iso]} ({iso})", fontsize=10, color=COLORS[iso] if not single else "black")
        ax.grid(alpha=0.3)
        ax.tick_params(axis="x", labelbottom=True)
    for ax in axes.flat[len(countries):]:
        ax.set_visible(False)
    axes[0, 0].set_ylim(0, top)
    for k, ax in enumerate(axes.flat[:len(countries)]):
        last_in_row = k % ncol == ncol - 1 or k == len(countries) - 1
        if k >= len(countries) - ncol:
            ax.set_xlabel("Year")
        if k % ncol == 0:
            ax.set_ylabel("Military spending, % of GDP")
        if last_in_row:
            for level in REFERENCE_LINES:
                if level * 100 < top:
                    ax.annotate(f"{level * 100:g}%", (1, level * 100), xycoords=("axes fraction", "data"),
                                xytext=(3, 0), textcoords="offset points", va="center", fontsize=8, color="0.3")
    ref = Line2D([], [], color="0.35", ls=":", lw=0.8, label="2% / 3.5% / 5% of GDP")
    if single:
        dark = "0.25"
        handles = [Line2D([], [], color=dark, lw=2, label="median of runs"),
                   Patch(color=dark, alpha=0.45, label="25-75% of runs"),
                   Patch(color=dark, alpha=0.2, label="5-95% of runs"), ref]
    else:
        handles = [Patch(facecolor=EXPERIMENT_COLORS[k % len(EXPERIMENT_COLORS)], alpha=0.5,
                         edgecolor=EXPERIMENT_COLORS[k % len(EXPERIMENT_COLORS)],
                         label=f"{legend_label(r, labels[k])}: median, 5-95% of runs") for k, r in enumerate(rs)]
        handles.append(ref)
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4 if single else 2), fontsize=9)
    used = [n for _, n in data]
    subject = (f"{legend_label(rs[0], labels[0])}, {used[0]:,} runs" if single
               else f"{len(rs)} experiments ({', '.join(f'{n:,}' for n in used)} runs)")
    lines = [f"Military burden across runs: median and spread of each country's path\n{subject}"]
    sampled = [r for r, n in zip(rs, used, strict=True) if n < len(r.runs)]
    if sampled:
        lines.append(f"Quantiles over a seeded random sample of {max_runs:,} runs per experiment.")
    if "PRK" in want and "PRK" not in countries:
        notes = []
        for (q, _), lab in zip(data, labels, strict=True):
            p = q[q["country"] == "PRK"]
            if not p.empty:
                notes.append(f"{p['q50'].iloc[0] * 100:.1f}% → {p['q50'].iloc[-1] * 100:.1f}%"
                             + (f" ({lab})" if not single else ""))
        if notes:
            lines.append("North Korea (estimate, not shown), median: " + "; ".join(notes))
    lines.append(unfinished_note(rs, labels))
    _suptitle(fig, "\n".join(t for t in lines if t))
    return fig


# ----------------------------------------------------------------------------------------------
# Outcome distributions


def outcome_distributions(results: Results | Sequence[Results]) -> Figure:
    """Four panels: escalation class shares, regional spending growth, security-dilemma index and
    allies' final burdens (box: 25-75%, whiskers: 5-95%, line: median), over all runs.

    With several results, each is drawn in its own colour side by side (bars, boxes) or overlaid
    (histograms as shares of each experiment's runs, so different run counts compare).
    """
    rs = _as_list(results)
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
            box.set(facecolor=COLORS[allies[j]] if single else colors[k], alpha=0.7, edgecolor="0.2")
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
        _suptitle(fig, f"Outcomes of {len(r.runs):,} runs ({r.n_points:,} design points × {reps}, "
                       f"{r.kind} design)\n{names[0]}" + (f"\n{r.incomplete_note}" if r.incomplete_note else ""))
    else:
        handles = [Patch(color=colors[k], label=names[k]) for k in range(len(rs))]
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(rs), 4), fontsize=9,
                   title="Experiment (bars, histograms and boxes in the same colour)")
        note = unfinished_note(rs, labels)
        _suptitle(fig, "Outcomes compared: " + " vs ".join(names)
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


# ----------------------------------------------------------------------------------------------
# Sobol indices


@dataclass(frozen=True)
class SobolDesign:
    """A Saltelli design as recorded in a result folder, and the part of it that can be analysed.

    Attributes:
        problem: SALib problem (num_vars, names, bounds) of the varied parameters.
        second: second-order indices were sampled (blocks of 2D+2 points, else D+2).
        block: design points per Saltelli block (one base sample and its cross-combinations).
        n_blocks: blocks the design declares (its base sample size N).
        points: the design points used, in order: those of complete blocks (every point with all its
            replicates); all of them unless the sweep is unfinished.
    """

    problem: dict
    second: bool
    block: int
    n_blocks: int
    points: np.ndarray

    @property
    def used_blocks(self) -> int:
        return len(self.points) // self.block


def saltelli_block(res: Results) -> int:
    """Design points per Saltelli block of a Sobol result: 2D+2 (second order) or D+2.

    Rows within a block share coordinates (A, B and their cross-combinations), so they are not
    independent; blocks are the units of any interval over the design.
    """
    problem, second = _sobol_problem(res)
    d = problem["num_vars"]
    return 2 * d + 2 if second else d + 2


def _sobol_problem(res: Results) -> tuple[dict, bool]:
    """SALib problem (num_vars, names, bounds) and second-order flag of a Sobol result."""
    if res.kind != "sobol":
        raise ParameterError(f"The results folder {str(res.path)!r} has a {res.kind!r} design; "
                             f"Sobol indices need a 'sobol' design.")
    problem = res.design.get("problem")
    if not isinstance(problem, dict) or "names" not in problem or "bounds" not in problem:
        raise ParameterError(f"The results folder {str(res.path)!r} has a Sobol design without its SALib "
                             f"problem (names, bounds) in manifest.json.")
    problem = {"num_vars": len(problem["names"]), "names": list(problem["names"]),
               "bounds": [list(map(float, b)) for b in problem["bounds"]]}
    return problem, bool(res.design.get("calc_second_order", True))


def sobol_design(res: Results) -> SobolDesign:
    """The Saltelli design of a Sobol result folder (see :class:`SobolDesign`).

    Raises:
        ParameterError: not a Sobol design, no SALib problem, a point count that is not a multiple
            of the block size, design points outside it, or no complete block.
    """
    problem, second = _sobol_problem(res)
    block = saltelli_block(res)
    n_points = int(res.design.get("n_points") or res.n_points)
    point = res.runs["design_point"].to_numpy()
    if n_points % block or point.min() < 0 or point.max() >= n_points:
        raise ParameterError(f"The results folder {str(res.path)!r} has {n_points} design points; a Sobol "
                             f"design of {problem['num_vars']} parameters needs a multiple of {block} points "
                             f"numbered from 0.")
    # complete blocks only: every point of the block, each with all its replicates
    per_point = np.bincount(point, minlength=n_points)
    full = (per_point >= res.replicates).reshape(-1, block).all(axis=1)
    if not full.any():
        raise ParameterError(f"The results folder {str(res.path)!r} has no complete Saltelli block of {block} "
                             f"design points yet ({res.incomplete_note or 'runs missing'}); Sobol indices need "
                             f"at least one.")
    points = (np.flatnonzero(full)[:, None] * block + np.arange(block)[None, :]).ravel()
    return SobolDesign(problem, second, block, n_points // block, points)


def sobol_table(results: Results, outcomes: Sequence[str] | None = None, num_resamples: int = 200,
                conf_level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """First- and total-order Sobol indices per outcome and parameter (SALib.analyze.sobol).

    Each design point's value is the mean of its replicates (for ``spiral_share``: the share of its
    replicates ending in a spiral); an unfinished sweep contributes its complete Saltelli blocks
    only (:func:`sobol_design`). Outcomes with missing values or no variance are skipped when
    ``outcomes`` is None, and raise otherwise.

    The bootstrap of the confidence intervals is seeded with ``seed + 1``: SALib seeds it only for
    a truthy seed (``if seed:``), so passing 0 on would leave the intervals unreproducible.

    Returns:
        Columns outcome, parameter, S1, S1_conf, ST, ST_conf (``*_conf``: half-width of the
        ``conf_level`` bootstrap interval).

    Raises:
        ParameterError: not a Sobol design, an inconsistent design, or an unusable outcome.
    """
    from SALib.analyze import sobol

    design = sobol_design(results)
    explicit = outcomes is not None
    outcomes = list(outcomes) if explicit else [o for o in SOBOL_OUTCOMES if o in DERIVED or o in results.runs]
    rows = []
    for o in outcomes:
        _check_outcome([results], o)
        means = results.values(o).groupby(results.runs["design_point"]).mean()
        y = means.reindex(design.points).to_numpy()
        bad = "missing values" if not np.isfinite(y).all() else "no variance" if np.ptp(y) == 0 else ""
        if not bad:
            with warnings.catch_warnings(record=True) as caught, np.errstate(divide="ignore", invalid="ignore"):
                warnings.simplefilter("always")
                si = sobol.analyze(dict(design.problem), y, calc_second_order=design.second,
                                   num_resamples=num_resamples, conf_level=conf_level,
                                   seed=seed + SALIB_SEED_OFFSET)
            if any("Constant values" in str(w.message) for w in caught):
                bad = "no variance within the sample blocks"
        if bad:
            if explicit:
                raise ParameterError(f"The outcome {o!r} in {str(results.path)!r} has {bad} over the design "
                                     f"points; Sobol indices cannot be computed for it.")
            continue
        for i, name in enumerate(design.problem["names"]):
            rows.append({"outcome": o, "parameter": name, "S1": si["S1"][i], "S1_conf": si["S1_conf"][i],
                         "ST": si["ST"][i], "ST_conf": si["ST_conf"][i]})
    return pd.DataFrame(rows, columns=["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"])


def sobol_indices(results: Results, outcomes: Sequence[str] | None = None, num_resamples: int = 200,
                  table: pd.DataFrame | None = None) -> Figure:
    """First-order (S1) and total-order (ST) Sobol indices with 95% bootstrap intervals, per outcome.

    Args:
        outcomes: outcome columns or derived shares (default: regional growth, spiral share,
            security-dilemma index and allies' final burdens, skipping unusable ones).
        table: a precomputed :func:`sobol_table` (to draw and write the same numbers).
    """
    design = sobol_design(results)
    if table is None:
        table = sobol_table(results, outcomes, num_resamples=num_resamples)
    outs = list(dict.fromkeys(table["outcome"]))
    if not outs:
        raise ParameterError(f"No outcome in {str(results.path)!r} varies over the Sobol design.")
    params = list(dict.fromkeys(table["parameter"]))
    ncol = min(3, len(outs))
    nrow = math.ceil(len(outs) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 1.6 + (0.9 + 0.42 * len(params)) * nrow),
                             squeeze=False, sharey=True, layout="constrained")
    ypos = np.arange(len(params))
    for k, o in enumerate(outs):
        ax = axes.flat[k]
        t = table[table["outcome"] == o].set_index("parameter").reindex(params)
        ax.barh(ypos - 0.2, t["S1"], 0.38, xerr=t["S1_conf"], color="#4f9fd8", capsize=2, label="first order S1")
        ax.barh(ypos + 0.2, t["ST"], 0.38, xerr=t["ST_conf"], color="#1f4e9c", capsize=2, label="total order ST")
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_xlim(min(-0.05, float((t["S1"] - t["S1_conf"]).min()) - 0.02),
                    max(1.0, float((t["ST"] + t["ST_conf"]).max()) + 0.02))
        ax.set_title(outcome_quantity(o).label, fontsize=10)
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
    n = results.design.get("n", "?")
    lines = [f"Sobol sensitivity indices: {results.label}\nSaltelli design, N = {n}, {len(params)} parameters, "
             f"{results.n_points:,} points × {results.replicates} replicate(s), averaged per point"]
    if results.incomplete_note:
        lines.append(f"{results.incomplete_note} Indices from the {design.used_blocks:,} complete Saltelli blocks "
                     f"of {design.n_blocks:,}.")
    _suptitle(fig, "\n".join(lines))
    return fig


# ----------------------------------------------------------------------------------------------
# Writing


def check_formats(formats: Iterable[str] | str) -> tuple[str, ...]:
    """Normalise image formats (``"png,svg"`` or a sequence); raise ParameterError on unknown ones."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out = tuple(dict.fromkeys(f.strip().lower().lstrip(".") for f in items if f.strip()))
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise ParameterError(f"The '--format' option must be a comma-separated list of {', '.join(FORMATS)}. "
                             f"Got {','.join(items) if items else ''!r} instead.")
    return out


def save_figure(fig: Figure, folder: Path, stem: str, formats: Sequence[str]) -> list[str]:
    """Save ``fig`` as ``stem.<fmt>`` for each format in ``folder``, close it; returns file names."""
    names = []
    for fmt in formats:
        fig.savefig(Path(folder) / f"{stem}.{fmt}", dpi=130 if fmt == "png" else None)
        names.append(f"{stem}.{fmt}")
    plt.close(fig)
    return names


def charts(res: Results) -> list[tuple[str, str, Any]]:
    """Every chart that applies to a result: ``(file stem, description, figure factory)``."""
    out: list[tuple[str, str, Any]] = []
    if len(res.varied) >= 2:
        out += [("phase_escalation", "Most frequent escalation class over the first two varied parameters",
                 lambda: phase_diagram(res, outcome="escalation")),
                ("phase_spiral_share", "Share of runs ending in a spiral over the first two varied parameters",
                 lambda: phase_diagram(res, outcome="spiral_share")),
                ("phase_regional_spending_growth", "Median regional spending growth over the first two varied "
                 "parameters", lambda: phase_diagram(res, outcome="regional_spending_growth"))]
    elif len(res.varied) == 1:
        out += [("response_escalation", "Escalation class shares against the varied parameter",
                 lambda: response_curve(res, outcome="escalation")),
                ("response_regional_spending_growth", "Regional spending growth against the varied parameter",
                 lambda: response_curve(res, outcome="regional_spending_growth"))]
    if res.has_agents:
        out.append(("fan_chart", "Median and 5-95% band of each country's burden path over all runs",
                    lambda: fan_chart(res)))
    out.append(("outcome_distributions", "Escalation shares, regional growth, security-dilemma index and "
                "allies' final burdens over all runs", lambda: outcome_distributions(res)))
    return out


def _has_complete_block(res: Results) -> bool:
    """False only for an unfinished Sobol sweep without any complete Saltelli block yet (no indices)."""
    try:
        sobol_design(res)
    except ParameterError:
        if res.incomplete_note:
            return False
        raise
    return True


def write_plots(result_dir: str | Path, out: str | Path | None = None,
                formats: Iterable[str] | str = ("png", "svg")) -> list[Path]:
    """Write every applicable chart of a sweep result into ``out`` (default ``DIR/plots``).

    Charts: phase diagrams (two or more varied parameters) or response curves (one), the fan chart
    (when agent tables exist), outcome distributions and, for Sobol designs, ``sobol_indices`` plus
    ``sobol_indices.csv`` (of an unfinished sweep: from its complete Saltelli blocks, if any).
    ``plots.json`` lists the files with a one-line description each. The folder is written
    atomically (:func:`model.batch.store.staged_output`).

    Returns:
        Paths of the written files (in ``out``).

    Raises:
        ParameterError: bad result folder, bad format, or unwritable output folder.
    """
    formats = check_formats(formats)
    res = load_results(result_dir)
    out = Path(out) if out is not None else res.path / "plots"
    index = []
    with staged_output(out) as stage:
        for stem, description, make in charts(res):
            index.append({"stem": stem, "description": description,
                          "files": save_figure(make(), stage, stem, formats)})
        if res.kind == "sobol" and _has_complete_block(res):
            table = sobol_table(res)
            if not table.empty:
                write_csv(table, stage / "sobol_indices.csv")
                index.append({"stem": "sobol_indices",
                              "description": "First- and total-order Sobol indices with 95% intervals",
                              "files": [*save_figure(sobol_indices(res, table=table), stage, "sobol_indices",
                                                     formats), "sobol_indices.csv"]})
        write_json({"result_dir": str(res.path), "experiment_hash": res.manifest.get("experiment_hash"),
                    "n_runs": len(res.runs), "expected_runs": res.expected_runs, "plots": index},
                   stage / "plots.json")
        names = [f for entry in index for f in entry["files"]] + ["plots.json"]
    return [out / n for n in names]
