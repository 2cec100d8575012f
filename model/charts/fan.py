"""Fan charts: each country's burden path over the runs of one or more sweep results."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from model.batch.store import Results, as_list, legend_label, unfinished_note, unique_labels
from model.charts.style import COUNTRY_COLORS, EXPERIMENT_COLORS, REFERENCE_LINES, suptitle
from model.errors import ParameterError
from model.sim.params import COUNTRIES, NAMES

MAX_FAN_RUNS = 20_000
"""Fan charts use at most this many runs (a seeded random sample, stated on the chart) to bound memory."""


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
    rs = as_list(results)
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
            color = COUNTRY_COLORS[iso] if single else EXPERIMENT_COLORS[k % len(EXPERIMENT_COLORS)]
            ax.fill_between(c["year"], c["q05"] * 100, c["q95"] * 100, color=color, alpha=0.18 if single else 0.15,
                            lw=0)
            if single:
                ax.fill_between(c["year"], c["q25"] * 100, c["q75"] * 100, color=color, alpha=0.3, lw=0)
            ax.plot(c["year"], c["q50"] * 100, color=color, lw=2)
            top = max(top, float(c["q95"].max()) * 100 * 1.05)
        for level in REFERENCE_LINES:
            ax.axhline(level * 100, color="0.35", lw=0.8, ls=":")
        ax.set_title(f"{NAMES[iso]} ({iso})", fontsize=10, color=COUNTRY_COLORS[iso] if not single else "black")
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
    suptitle(fig, "\n".join(t for t in lines if t))
    return fig

