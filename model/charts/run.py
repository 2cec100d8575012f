"""Figures of one run. Plot functions only read a table and return a Figure; callers save them.

Tables are the per agent-year tables of :meth:`model.sim.model.ArmsRaceModel.agent_table` (columns
``year``, ``country`` and the agent variables). Every figure takes ``linear``: whether the run used
the linear (Richardson) threat model, which changes what threat is and in which unit it is shown
(:func:`model.sim.units.shown`); the values alone cannot tell.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from model.charts.style import COUNTRY_COLORS, REFERENCE_LINES
from model.sim.params import BLOC, COUNTRIES, NAMES
from model.sim.units import shown


def _title(ax, heading: str, title: str, note: str = "") -> None:
    """Heading in bold, then the caller's title wrapped to the axis width, then an optional note."""
    lines = textwrap.wrap(title, 95) if title else []
    if note:
        lines += textwrap.wrap(note, 95)
    # the heading sits above the subtitle block: its padding counts the block's printed lines
    # (9 pt text, about 11.5 pt a line), which a wrapped title has several of
    ax.set_title(heading, fontsize=12, fontweight="bold", loc="left", pad=8 + 11.5 * len(lines))
    ax.text(0, 1.01, "\n".join(lines), transform=ax.transAxes, fontsize=9, va="bottom", color="0.25",
            linespacing=1.15)


def _lines(table: pd.DataFrame, var: str, scale: float, ax) -> None:
    for iso in [c for c in COUNTRIES if c in set(table["country"])]:
        rows = table[table["country"] == iso]
        style = "-" if BLOC[iso] == "US alliance" else "--"
        ax.plot(rows["year"], rows[var] * scale, style, color=COUNTRY_COLORS[iso], label=f"{NAMES[iso]} ({iso})",
                lw=1.8)


def plot_burden(table: pd.DataFrame, title: str = "", *, linear: bool = False) -> Figure:
    """Military burden (% of GDP) per country with the 2%, 3.5% and 5% reference lines.

    North Korea's burden (about 20% of GDP, an estimate) would flatten every other line, so it is
    stated in a note under the title instead of drawn.
    """
    unit, scale = shown("burden", linear)
    fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    others = table[table["country"] != "PRK"]
    _lines(others, "burden", scale, ax)
    for level, label in REFERENCE_LINES.items():
        ax.axhline(level * scale, color="0.4", lw=0.8, ls=":")
        ax.annotate(label, (table["year"].min(), level * scale), xytext=(2, 2), textcoords="offset points",
                    fontsize=8, color="0.3")
    note = ""
    if "PRK" in set(table["country"]):
        prk = table[table["country"] == "PRK"]["burden"] * scale
        note = (f"North Korea (WMEAT estimate, off this scale): {prk.iloc[0]:.1f}% in {table['year'].min()}"
                f" → {prk.iloc[-1]:.1f}% in {table['year'].max()}")
    _title(ax, "Military burden by country", title, note)
    ax.set_xlabel("Year")
    ax.set_ylabel(f"Military spending, {unit}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9, title="Country (— ally, -- rival)")
    ax.grid(alpha=0.3)
    return fig


def plot_spending(table: pd.DataFrame, title: str = "", *, linear: bool = False) -> Figure:
    """Military spending per country, US$ bn at constant 2023 prices (log scale)."""
    unit, scale = shown("spending", linear)
    fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    _lines(table, "spending", scale, ax)
    ax.set_yscale("log")
    _title(ax, "Military spending by country", title)
    ax.set_xlabel("Year")
    ax.set_ylabel(f"Military spending, {unit} (constant 2023 prices, log scale)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9, title="Country")
    ax.grid(alpha=0.3, which="both")
    return fig


def plot_threat(table: pd.DataFrame, title: str = "", *, linear: bool) -> Figure:
    """Perceived threat per country: hostility-weighted rival spending bearing on it (US$ bn, log scale
    unless a threat is 0; the decision reads its logarithm), or (``linear``) weighted rival burdens in
    % of GDP."""
    unit, scale = shown("threat", linear)
    fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    _lines(table, "threat", scale, ax)
    _title(ax, "Perceived threat by country", title)
    ax.set_xlabel("Year")
    if linear:
        ax.set_ylabel(unit[0].upper() + unit[1:])
    elif (table["threat"] > 0).all():
        ax.set_yscale("log")
        ax.set_ylabel(f"Hostility-weighted rival spending in theatre, {unit} (log scale)")
    else:  # a country without hostile rivals (hostility_scale = 0): a log scale would drop its line
        ax.set_ylabel(f"Hostility-weighted rival spending in theatre, {unit}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9, title="Country")
    ax.grid(alpha=0.3)
    return fig


RUN_FIGURES = {"burden": plot_burden, "spending": plot_spending, "threat": plot_threat}
"""File stem -> plot function, for the figures ``armsrace run`` writes."""
