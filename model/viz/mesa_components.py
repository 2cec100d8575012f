"""Components for Mesa's own SolaraViz page of :class:`~model.sim.model.ArmsRaceModel` (notebooks, scripts).

The ``armsrace viz`` page (:mod:`model.viz.app`) has its own layout; these are for a user who builds
a page the Mesa way::

    from mesa.visualization import SolaraViz
    from model.api import ArmsRaceModel
    from model.viz.mesa_components import country_plot, network_space

    page = SolaraViz(ArmsRaceModel(scenario="nato_precedent_5", rng=1),
                     components=[network_space(), country_plot("burden")],
                     model_params={"name": "nato_precedent_5", "rng": 1})
    page  # the last expression of a notebook cell shows it

``"name"`` in ``model_params`` keeps the scenario across Reset (Mesa rebuilds the model from
``model_params`` alone; see :class:`~model.sim.model.ArmsRaceScenario`). Both components are Mesa's
(``make_space_component``, ``make_plot_component``) with this model's colours
(:mod:`model.charts.style`), fixed network positions and axes in years and % of GDP.
"""

from __future__ import annotations

from collections.abc import Callable

from matplotlib.collections import PathCollection
from matplotlib.ticker import FuncFormatter
from mesa.visualization import make_plot_component, make_space_component
from mesa.visualization.components import AgentPortrayalStyle

from model.charts.style import BLOC_COLORS, COUNTRY_COLORS
from model.sim.model import COUNTRY_REPORTERS
from model.sim.params import BLOC, COUNTRIES, NAMES
from model.sim.units import shown
from model.viz.charts import POSITIONS, SPENDING_AREA

TITLES = {"burden": "Military burden", "spending": "Military spending", "threat": "Perceived threat",
          "pressure": "US alliance pressure"}
"""Per-country reporter -> title (units come from :mod:`model.sim.units`)."""


def portrayal(agent) -> AgentPortrayalStyle:
    """A country: its colour, ringed by its bloc's, area proportional to military spending."""
    return AgentPortrayalStyle(color=COUNTRY_COLORS[agent.iso], size=max(30.0, SPENDING_AREA * agent.spending),
                               edgecolors=BLOC_COLORS[BLOC[agent.iso]], linewidths=2.0)


def _positions(graph, **_) -> dict:
    """Fixed map-like positions by the node's ``iso`` attribute, in node-id order (Mesa indexes by it)."""
    return {n: POSITIONS[graph.nodes[n]["iso"]] for n in sorted(graph.nodes)}


def network_space():
    """Mesa's ``make_space_component`` of the relation network (edges: alliances, partnerships, rivalries).

    Mesa 3.5.1's network drawing drops the portrayal's marker sizes (``_scatter`` pops them and never
    passes them on), so the portrayal also records each country's size and label, and the
    post-processing step applies them to the drawn markers, in the order Mesa drew them.
    """
    drawn: list[tuple[str, float, str]] = []

    def portray(agent) -> AgentPortrayalStyle:
        style = portrayal(agent)
        drawn.append((agent.iso, style.size, f"{NAMES[agent.iso]}\n${agent.spending:,.0f} bn · "
                                               f"{100 * agent.burden:.1f}%"))
        return style

    def post_process(ax) -> None:
        markers = [c for c in ax.collections if isinstance(c, PathCollection)]
        if markers and len(markers[0].get_offsets()) == len(drawn):
            markers[0].set_sizes([size for _, size, _ in drawn])
        for iso, size, label in drawn:
            ax.annotate(label, POSITIONS[iso], xytext=(0, -(size ** 0.5) / 2 - 3), textcoords="offset points",
                        ha="center", va="top", fontsize=7)
        drawn.clear()
        ax.set_xlim(-0.05, 1.05)  # room for the largest nodes at the edges
        ax.set_ylim(-0.08, 1.0)
        ax.set_title("Alliances and rivalries (area: military spending)", fontsize=10)

    return make_space_component(portray, post_process=post_process, layout_alg=_positions, layout_kwargs={})


def country_plot(var: str = "burden", countries: tuple[str, ...] | None = None, page: int = 0):
    """Mesa's ``make_plot_component`` of one per-country reporter (``burden_JPN``, ...) for each country.

    Args:
        var: one of :data:`model.sim.model.COUNTRY_REPORTERS`.
        countries: ISO3 codes drawn (default: all seven but North Korea, whose burden is off scale).
        page: SolaraViz page (tab) of the component.

    Returns:
        ``(component, page)``, as ``make_plot_component`` does. The component makes Mesa's plot for the
        model it is given on each render, so the axes follow that model: its start year, threat model
        and countries.
    """
    if var not in COUNTRY_REPORTERS:
        raise ValueError(f"The 'var' argument must be one of {', '.join(COUNTRY_REPORTERS)}. Got {var!r} instead.")
    countries = countries or tuple(c for c in COUNTRIES if c != "PRK")

    def component(model):
        measure = {f"{var}_{iso}": COUNTRY_COLORS[iso] for iso in countries if iso in model.inputs.countries}
        return make_plot_component(measure, post_process=axes_of(var, model), page=page)[0](model)

    return component, page


def axes_of(var: str, model) -> Callable:
    """Mesa's ``post_process`` for a plot of ``var`` reporters of ``model``: legend by country name,
    values in the shown unit (:func:`model.sim.units.shown`), steps labelled as the run's years."""
    title = TITLES[var]
    unit, factor = shown(var, model.inputs.linear)
    start_year = model.inputs.start_year

    def post_process(ax) -> None:
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles, [NAMES[label.rsplit("_", 1)[1]] for label in labels], fontsize=7, ncol=2)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y * factor:g}"))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda s, _: f"{start_year + int(s)}"))
        ax.set_ylabel(f"{title} ({unit})")
        ax.set_title(f"{title}, {unit} (x axis: year)", fontsize=10)

    return post_process
