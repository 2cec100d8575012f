"""Figures of the report's scenarios: burden paths side by side, and the scenarios compared.

Both take the agent-year table of several scenario runs (``scenario`` column, as
:func:`model.report.run_scenarios` returns it) and return a Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from model.charts.style import COUNTRY_COLORS, EXPERIMENT_COLORS, REFERENCE_LINES
from model.sim.params import ALLIES, BLOC, NAMES


def plot_scenarios(agents: pd.DataFrame) -> Figure:
    """Small multiples: burden (% of GDP) per country, one panel per scenario (North Korea in the title)."""
    names = list(dict.fromkeys(agents["scenario"]))
    ncol = 3
    nrow = int(np.ceil(len(names) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(14, 4.0 * nrow + 0.8), layout="constrained",
                             sharey=True, squeeze=False)
    for ax, name in zip(axes.flat, names):
        d = agents[agents["scenario"] == name]
        for iso in dict.fromkeys(d["country"]):
            if iso == "PRK":
                continue
            rows = d[d["country"] == iso]
            ax.plot(rows["year"], rows["burden"] * 100, "-" if BLOC[iso] == "US alliance" else "--",
                    color=COUNTRY_COLORS[iso], lw=1.7, label=f"{NAMES[iso]} ({iso})")
        for level in REFERENCE_LINES:
            ax.axhline(level * 100, color="0.5", lw=0.7, ls=":")
        prk = d[d["country"] == "PRK"]["burden"] * 100
        ax.set_title(f"{name}\n(North Korea, estimate: {prk.iloc[0]:.1f}% → {prk.iloc[-1]:.1f}%, not drawn)",
                     fontsize=10)
        ax.set_xlabel("Year")
        ax.set_ylabel("Military spending, % of GDP")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=6, fontsize=9,
               title="— US alliance, -- rivals; dotted: 2%, 3.5%, 5% of GDP")
    fig.suptitle("Military burden by scenario (deterministic runs, 2024 = SIPRI data)", fontsize=12)
    return fig


def plot_comparison(agents: pd.DataFrame) -> Figure:
    """Four panels comparing the scenarios: Japan's burden, allies' spending, China's and North Korea's threat."""
    names = list(dict.fromkeys(agents["scenario"]))
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), layout="constrained")
    styles = dict(zip(names, ["-", "-", "-", "--", "-.", ":"]))
    colors = dict(zip(names, EXPERIMENT_COLORS))
    panels = [
        ("Japan's burden", "% of GDP", lambda d: d[d["country"] == "JPN"].set_index("year")["burden"] * 100),
        ("US allies' spending (JPN + KOR + PHL)", "US$ bn, constant 2023 prices",
         lambda d: d[d["country"].isin(ALLIES)].groupby("year")["spending"].sum()),
        ("China's perceived threat", "hostility-weighted rival spending, US$ bn",
         lambda d: d[d["country"] == "CHN"].set_index("year")["threat"]),
        ("North Korea's perceived threat", "hostility-weighted rival spending, US$ bn",
         lambda d: d[d["country"] == "PRK"].set_index("year")["threat"]),
    ]
    for ax, (title, unit, get) in zip(axes.flat, panels):
        for name in names:
            s = get(agents[agents["scenario"] == name])
            ax.plot(s.index, s.to_numpy(), styles[name], color=colors[name], lw=1.8, label=name)
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("Year")
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8, title="scenario")
    fig.suptitle("The article's scenarios compared", fontsize=12)
    return fig
