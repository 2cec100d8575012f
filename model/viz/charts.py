"""Live figures of one running model for the browser view, redrawn in a few milliseconds per step.

Each chart owns one matplotlib Figure on an Agg canvas for the life of a model. The parts that do
not change from year to year (axes, ticks, labels, legend, reference lines, network edges) are
drawn once and cached as a bitmap; each step restores that bitmap and draws only the moving artists
(lines, nodes, year labels), then encodes a PNG. That is about 4x faster than building and saving a
new figure per step (matplotlib's tick and text layout dominate), which keeps a Step of the page
within its 300 ms budget on a 2-core machine. The x axis spans the whole horizon from the start, so
lines grow instead of the axes rescaling; a y axis is widened (and the background redrawn) only
when data leaves it.

The charts read the model only through its DataCollector reporters (``model.paths()`` and the
``us_demand`` model reporter, see :mod:`model.sim.model`), its agents' current values, the relation
graph of its Network space (``model.space.G``); colours come from the package palette
(:mod:`model.charts.style`), so the page and the written charts agree.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from PIL import Image

from model.charts.style import BLOC_COLORS, COUNTRY_COLORS, REFERENCE_LINES, RIVALRY_COLOR
from model.sim.params import ALLIES, BLOC, NAMES
from model.sim.units import shown as units_of

if TYPE_CHECKING:
    from model.sim.model import ArmsRaceModel

SIZE = (5.8, 3.6)
"""Figure size in inches; at DPI this is the PNG's size in pixels before the page scales it."""
DPI = 100
POSITIONS = {"CHN": (0.15, 0.50), "RUS": (0.42, 0.86), "PRK": (0.42, 0.58), "KOR": (0.56, 0.40),
             "JPN": (0.76, 0.60), "PHL": (0.36, 0.13), "USA": (0.90, 0.20)}
"""Fixed schematic node positions (roughly the map: China west, Russia north, the US east across the
Pacific), so the layout is never recomputed and the picture does not jump between steps."""
SPENDING_AREA = 2.2
"""Node area in points^2 per US$ bn of military spending (constant 2023)."""


class LiveChart:
    """A figure whose static part is cached; subclasses add the moving artists and update them.

    Subclasses build the figure in ``__init__`` (marking moving artists ``animated=True`` and
    listing them in ``self.moving``) and implement :meth:`update`, which sets the artists' data
    from the model and returns True when the static part must be redrawn (e.g. a new y range).
    """

    def __init__(self) -> None:
        self.fig = Figure(figsize=SIZE, dpi=DPI)
        self.canvas = FigureCanvasAgg(self.fig)
        self.moving: list = []
        self._background = None

    def update(self, model: ArmsRaceModel, paths: dict[str, np.ndarray]) -> bool:
        raise NotImplementedError

    def invalidate(self) -> None:
        """Forget the cached static part: the next :meth:`png` draws the whole figure."""
        self._background = None

    def png(self, model: ArmsRaceModel, paths: dict[str, np.ndarray] | None = None) -> bytes:
        """The chart for the model's current year, as PNG bytes.

        Args:
            model: the model to draw.
            paths: ``model.paths()`` if the caller already has it (it is shared by the charts).
        """
        if paths is None:
            paths = model.paths()
        if self.update(model, paths) or self._background is None:
            self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        else:
            self.canvas.restore_region(self._background)
        for artist in self.moving:
            self.fig.draw_artist(artist)
        width, height = self.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        out = io.BytesIO()
        image.convert("RGB").save(out, format="png", compress_level=1)
        return out.getvalue()


class TimeSeriesChart(LiveChart):
    """One line per country of an agent reporter over the whole horizon.

    Args:
        model: the model whose countries and horizon set the lines and the x range.
        var: agent reporter name (``burden``, ``threat``, ``pressure``, ...).
        title, ylabel: texts; units belong in ``ylabel``.
        scale: factor applied to the values (100 for shares shown in %).
        countries: countries drawn (default: all in the run).
        references: horizontal reference lines {value in display units: label}.
        ymin_top: the y axis shows at least [0, ymin_top].
        note: optional function (model, {iso: values}) -> str for a line under the title that
            changes with the year (e.g. an off-scale country).
        legend_title: title of the country legend.
    """

    def __init__(self, model: ArmsRaceModel, var: str, title: str, ylabel: str, scale: float = 1.0,
                 countries: tuple[str, ...] | None = None, references: dict[float, str] | None = None,
                 ymin_top: float = 0.0, note=None,
                 legend_title: str | None = "solid: US alliance\ndashed: rivals") -> None:
        super().__init__()
        self.var, self.scale, self.ymin_top, self.note_fn = var, scale, ymin_top, note
        present = model.inputs.countries
        self.countries = tuple(c for c in (countries or present) if c in present)
        self.fig.subplots_adjust(left=0.1, right=0.72, top=0.82, bottom=0.13)
        ax = self.ax = self.fig.subplots()
        x = model.inputs
        ax.set_xlim(x.start_year - 0.4, x.until + 0.4)  # room for the end-of-line markers
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True, steps=[1, 2, 4, 5, 10]))
        ax.set_ylim(0, max(ymin_top, 1e-9))
        self.fig.text(0.015, 0.955, title, fontsize=11.5, fontweight="bold", va="top")
        ax.set_xlabel("Year")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        for level, label in (references or {}).items():
            ax.axhline(level, color="0.35", lw=0.9, ls=":")
            ax.annotate(label, (1.0, level), xycoords=("axes fraction", "data"), xytext=(-2, 2),
                        textcoords="offset points", ha="right", fontsize=7.5, color="0.3")
        self.lines = {}
        for iso in self.countries:
            style = "-" if BLOC[iso] == "US alliance" else "--"
            self.lines[iso], = ax.plot([], [], style, color=COUNTRY_COLORS[iso], lw=1.9, animated=True,
                                       marker="o", ms=3.5, markevery=[-1], label=f"{NAMES[iso]}")
        ax.legend(handles=list(self.lines.values()), loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize=8, title=legend_title, title_fontsize=7.5,
                  frameon=False, alignment="left")
        self.now = ax.axvline(x.start_year, color="0.55", lw=0.8, animated=True)
        self.note = self.fig.text(0.015, 0.885, "", fontsize=8, color="0.3", va="top", animated=True)
        self.moving = [*self.lines.values(), self.now, self.note]

    def update(self, model: ArmsRaceModel, paths: dict[str, np.ndarray]) -> bool:
        table = paths[self.var]
        years = model.inputs.start_year + np.arange(len(table))
        values = {iso: table[:, i] for i, iso in enumerate(model.inputs.countries)}
        top = self.ymin_top
        for iso, line in self.lines.items():
            y = values[iso] * self.scale
            line.set_data(years, y)
            top = max(top, float(np.nanmax(y)) if len(y) else 0.0)
        self.now.set_xdata([model.year, model.year])
        self.note.set_text(self.note_fn(model, values) if self.note_fn else "")
        if top > self.ax.get_ylim()[1]:  # widen with headroom, so a rising line rarely forces a redraw
            self.ax.set_ylim(0, _nice_top(top * 1.25))
            return True
        return False


def _nice_top(x: float) -> float:
    """Smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k that is >= x (a round axis limit)."""
    if x <= 0:
        return 1.0
    base = 10 ** math.floor(math.log10(x))
    return next(m * base for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * base >= x - 1e-12)


def burden_chart(model: ArmsRaceModel) -> TimeSeriesChart:
    """Military burden, % of GDP, with the 2%, 3.5% and 5% reference lines (North Korea in a note)."""
    shown = tuple(c for c in model.inputs.countries if c != "PRK")

    def note(m, values):
        if "PRK" not in values:
            return ""
        prk = values["PRK"] * 100
        return f"North Korea (estimate, off scale): {prk[0]:.1f}% → {prk[-1]:.1f}% of GDP"

    unit, factor = units_of("burden")
    return TimeSeriesChart(model, "burden", "Military burden", f"Military spending, {unit}", factor, shown,
                           {factor * k: v for k, v in REFERENCE_LINES.items()}, ymin_top=6.0, note=note)


def threat_chart(model: ArmsRaceModel) -> TimeSeriesChart:
    """Perceived threat per country: hostility-weighted rival spending bearing on it (:mod:`model.sim.units`)."""
    unit, factor = units_of("threat", model.inputs.linear)
    what = "rival burdens" if model.inputs.linear else "rival spending in theatre"
    return TimeSeriesChart(model, "threat", "Perceived threat", f"Threat ({unit})", factor, ymin_top=0.5,
                           note=lambda m, values: f"Hostility-weighted {what}")


def pressure_chart(model: ArmsRaceModel) -> TimeSeriesChart:
    """US alliance pressure on each ally, percentage points of GDP."""
    def note(m, values):
        demand = m.datacollector.model_vars["us_demand"][-1]
        return f"US demand of allies this year: {100 * demand:.1f}% of GDP"

    unit, factor = units_of("pressure")
    return TimeSeriesChart(model, "pressure", "US alliance pressure on allies", f"Pressure, {unit}", factor, ALLIES,
                           ymin_top=1.0, note=note, legend_title="US allies")


class NetworkChart(LiveChart):
    """The relation network of ``model.space.G`` at fixed positions.

    Edges (static): alliance (solid blue), partnership among rivals (solid dark red) and rivalry
    (dashed red, width by the larger of the two hostility weights). Nodes (moving): one per country,
    coloured as in every figure, ringed by bloc colour, area proportional to military spending,
    labelled with spending and burden.
    """

    def __init__(self, model: ArmsRaceModel) -> None:
        super().__init__()
        self.fig.subplots_adjust(left=0.01, right=0.99, top=0.86, bottom=0.01)
        ax = self.ax = self.fig.subplots()
        ax.set_xlim(-0.02, 1.08)
        ax.set_ylim(-0.06, 1.0)
        ax.set_axis_off()
        graph = model.space.G
        present = {data["iso"] for _, data in graph.nodes(data=True)}
        self.countries = [iso for iso in model.inputs.countries if iso in present]
        for a, b, kind in _undirected_ties(graph):
            (xa, ya), (xb, yb) = POSITIONS[a], POSITIONS[b]
            if kind == "alliance":
                ax.plot([xa, xb], [ya, yb], "-", color=BLOC_COLORS["US alliance"], lw=2.6, alpha=0.8,
                        solid_capstyle="round")
            elif kind == "partnership":
                ax.plot([xa, xb], [ya, yb], "-", color=BLOC_COLORS["rival"], lw=2.2, alpha=0.55)
            else:
                ax.plot([xa, xb], [ya, yb], "--", color=RIVALRY_COLOR, lw=0.6 + 3.4 * kind, alpha=0.55)
        handles = [Line2D([], [], color=BLOC_COLORS["US alliance"], lw=2.6, label="alliance"),
                   Line2D([], [], color=BLOC_COLORS["rival"], lw=2.2, alpha=0.55, label="partnership"),
                   Line2D([], [], color=RIVALRY_COLOR, ls="--", lw=2, alpha=0.7,
                          label="rivalry (width: hostility)"),
                   Line2D([], [], marker="o", ls="", mfc="white", mec=BLOC_COLORS["US alliance"], mew=2.5,
                          ms=9, label="US alliance member"),
                   Line2D([], [], marker="o", ls="", mfc="white", mec=BLOC_COLORS["rival"], mew=2.5,
                          ms=9, label="rival bloc member")]
        ax.legend(handles=handles, loc="lower left", fontsize=7.5, frameon=False, ncol=1,
                  bbox_to_anchor=(0.0, 0.0))
        self.title = self.fig.text(0.015, 0.955, "", fontsize=11.5, fontweight="bold", va="top",
                                   animated=True)
        self.fig.text(0.015, 0.885, "Node area proportional to military spending (US$ bn, constant 2023);"
                      " labels: spending · % of GDP", fontsize=8, color="0.3", va="top")
        xy = np.array([POSITIONS[iso] for iso in self.countries])
        self.nodes = ax.scatter(xy[:, 0], xy[:, 1], s=np.zeros(len(xy)),
                                c=[COUNTRY_COLORS[iso] for iso in self.countries],
                                edgecolors=[BLOC_COLORS[BLOC[iso]] for iso in self.countries],
                                linewidths=2.5, zorder=3, animated=True)
        self.labels = {iso: ax.text(*POSITIONS[iso], "", ha="center", va="top", fontsize=8, zorder=4,
                                    animated=True) for iso in self.countries}
        bbox = ax.get_window_extent()
        self._data_per_point = (ax.get_ylim()[1] - ax.get_ylim()[0]) / (bbox.height * 72 / DPI)
        self.moving = [self.nodes, *self.labels.values(), self.title]

    def update(self, model: ArmsRaceModel, paths: dict[str, np.ndarray]) -> bool:
        agents = {a.iso: a for a in model.countries}
        sizes = np.array([max(30.0, SPENDING_AREA * agents[iso].spending) for iso in self.countries])
        self.nodes.set_sizes(sizes)
        for iso, size in zip(self.countries, sizes, strict=True):
            a = agents[iso]
            label = self.labels[iso]
            label.set_text(f"{NAMES[iso]}\n${a.spending:,.0f} bn · {100 * a.burden:.1f}%")
            x, y = POSITIONS[iso]
            label.set_position((x, y - (math.sqrt(size) / 2 + 3) * self._data_per_point))  # below the node
        self.title.set_text(f"Alliances and rivalries, {model.year}")
        return False


def _undirected_ties(graph) -> list[tuple[str, str, object]]:
    """(iso a, iso b, kind) per tie: 'alliance', 'partnership' or the rivalry strength (max hostility).

    The graph is the model's (:meth:`model.sim.model.ArmsRaceModel._relation_graph`): integer node ids
    with the country in the ``iso`` attribute, one undirected edge per related pair.
    """
    out = []
    for a, b, data in graph.edges(data=True):
        ia, ib = graph.nodes[a]["iso"], graph.nodes[b]["iso"]
        if "alliance" in data:
            out.append((ia, ib, "alliance"))
        elif "partnership" in data:
            out.append((ia, ib, "partnership"))
        if data.get("hostility", 0.0) > 0:
            out.append((ia, ib, float(data["hostility"])))
    return out


CHARTS = {"network": NetworkChart, "burden": burden_chart, "threat": threat_chart, "pressure": pressure_chart}
"""Chart name -> builder(model) -> LiveChart, in page order."""
