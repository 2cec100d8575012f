"""Browser view of the arms-race model: a Mesa SolaraViz page plus a results browser.

Start it with ``armsrace viz`` (which runs ``solara run model.viz.app`` with the offline settings
of :mod:`model.viz.offline_assets`). Two tabs:

* **Simulation** (``/``): pick a scenario (``experiments/scenarios/``), change the main
  parameters and the seed, then Step, Play or Reset with SolaraViz's own controls. The page shows
  the current year, the escalation class and security-dilemma index of the years run so far
  (:meth:`model.sim.model.ArmsRaceModel.summary`), the alliance/rivalry network (node area: military
  spending) and, per country, the military burden (% of GDP, with the 2%, 3.5% and 5% lines),
  perceived threat and US alliance pressure over time.
* **Results** (``/results``): the charts of result folders side by side
  (:mod:`model.viz.pages_results`).

Each browser session gets its own model: :func:`SimulationPage` builds it inside the component
(a hook), never at import, so sessions never share or step each other's model. Choosing another
scenario builds a new model and re-mounts SolaraViz with controls set to that scenario's values;
Reset rebuilds the model from the scenario with the controls' values as overrides
(:class:`model.viz.controls.PageModel`). Charts are redrawn incrementally
(:mod:`model.viz.charts`) so a Step renders quickly. The model never imports this module.
"""

from __future__ import annotations

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from model.charts.style import ESCALATION_COLORS
from model.sim.params import NAMES
from model.viz.charts import CHARTS
from model.viz.controls import DEFAULT_SCENARIO, PageModel, ScenarioModel, describe_run, model_params, scenario_choices
from model.viz.pages_results import ResultsPage

APP_TITLE = "East Asian military spending — agent-based model"
TABS = (("Simulation", "/"), ("Results", "/results"))
CHART_ROWS = (("network", "burden"), ("threat", "pressure"))
CSS = """
.armsrace-tile { height: 100%; }
.armsrace-label { font-size: 0.75rem; color: #666; text-transform: uppercase; letter-spacing: 0.04em; }
.armsrace-value { font-size: 1.6rem; font-weight: 600; line-height: 1.3; display: block; }
.armsrace-detail { font-size: 0.8rem; color: #666; display: block; }
.armsrace-chart { display: block; max-width: 100%; height: auto; }
.armsrace-result-chart { display: block; max-width: min(100%, 1100px); height: auto; margin: 0 auto; }
"""


@solara.component
def NavTabs() -> None:
    """The Simulation / Results tabs in the app bar, and the window title."""
    router = solara.use_router()
    current = 1 if router.parts and router.parts[0] == "results" else 0
    solara.Title(f"{TABS[current][0]} · East Asian arms race")
    with solara.AppBar():
        with solara.lab.Tabs(value=current, on_value=lambda i: router.push(TABS[i][1]), align="center"):
            for label, _ in TABS:
                solara.lab.Tab(label)


@solara.component
def ScenarioPicker(scenario: solara.Reactive[str]) -> None:
    """Scenario choice with its description and the claim it encodes."""
    choices = solara.use_memo(scenario_choices, [])
    chosen = choices[scenario.value]
    with solara.Card("Scenario", margin=0):
        solara.Select("Scenario", values=list(choices), value=scenario, classes=["armsrace-scenario-select"])
        solara.Text(chosen.description, style={"display": "block", "margin-bottom": "4px"})
        if chosen.claim:
            solara.Text(f"Claim: {chosen.claim}", style={"display": "block", "font-size": "0.85em",
                                                          "color": "#666"})
        solara.Text("Changing the scenario starts a new run; the controls below then apply on Reset.",
                    style={"display": "block", "font-size": "0.8em", "color": "#888", "margin-top": "6px"})


@solara.component
def Tile(label: str, value: str, detail: str = "", color: str = "inherit", name: str = "") -> None:
    """One headline number."""
    with solara.Card(margin=0, elevation=1, classes=["armsrace-tile"]):
        solara.Text(label, classes=["armsrace-label"])
        solara.Text(value, classes=["armsrace-value", f"armsrace-{name}"] if name else ["armsrace-value"],
                    style={"color": color})
        solara.Text(detail, classes=["armsrace-detail"])


def headline(model: ScenarioModel) -> None:
    """Year, escalation class, security-dilemma index and regional figures of the run so far.

    A plain function called in :func:`Dashboard`'s render, not a component: a component taking the
    same model object would be skipped by the renderer when only the model's state changed.
    """
    x = model.inputs
    started = model.year > x.start_year
    summary = model.summary() if started else {}
    reporters = model.datacollector.model_vars
    burden = reporters["regional_burden"][-1]
    spending = reporters["regional_spending"][-1]
    escalation = summary.get("escalation", "—")
    sdi = summary.get("security_dilemma_index")
    with solara.Columns([1, 1, 1, 1, 1], gutters_dense=True):
        Tile("Year", str(model.year), f"of {x.start_year}–{x.until}"
             + (" · end of horizon" if not model.running else ""), name="year")
        Tile("Escalation class", escalation, f"regional burden since {x.start_year}" if started
             else "after the first step", ESCALATION_COLORS.get(escalation, "inherit"), name="escalation")
        Tile("Security-dilemma index", "—" if sdi is None else f"{sdi:.2f}",
             "share of countries spending more and feeling more threatened", name="sdi")
        Tile("Regional burden", f"{100 * burden:.2f}%", f"burdens weighted by {x.start_year} GDP",
             name="regional-burden")
        Tile("Regional spending", f"${spending:,.0f} bn", "US$, constant 2023 prices", name="regional-spending")


@solara.component
def Dashboard(model: solara.Reactive[PageModel]) -> None:
    """Headline numbers and the four live charts; re-renders on every Step (Mesa's update counter)."""
    update_counter.get()
    m = model.value
    charts = solara.use_memo(lambda: {name: build(m) for name, build in CHARTS.items()}, [m])
    paths = m.paths()
    scenario = m.scenario_file
    countries = ", ".join(NAMES[c] for c in m.inputs.countries)
    with solara.Column(gap="12px", classes=["armsrace-dashboard"]):
        solara.Markdown(f"## Scenario: {scenario.name}", style={"margin-bottom": "0"})
        with solara.Column(gap="2px"):
            solara.Text(f"{scenario.description}. Countries: {countries}.", classes=["armsrace-scenario-title"],
                        style={"color": "#444"})
            solara.Text(f"This run: {describe_run(m.params)} · seed {m.seed}", classes=["armsrace-run-params"],
                        style={"color": "#666", "font-size": "0.85em"})
        if m.input_error:
            solara.Error(m.input_error, classes=["armsrace-input-error"])
        headline(m)
        for row in CHART_ROWS:
            with solara.Columns([1, 1], gutters_dense=True):
                for name in row:
                    with solara.Card(margin=0, elevation=1):
                        solara.Image(charts[name].png(m, paths), width="100%", format="png",
                                     classes=["armsrace-chart", f"armsrace-chart-{name}"])


@solara.component
def SimulationPage() -> None:
    """Scenario picker, SolaraViz controls (Step/Play/Reset, parameters) and the dashboard."""
    scenario = solara.use_reactive(DEFAULT_SCENARIO)
    # Built here, once per session and scenario: a model at module level would be shared by sessions.
    first = solara.use_memo(lambda: PageModel(scenario_name=scenario.value), [scenario.value])
    model = solara.use_reactive(first)
    params = solara.use_memo(lambda: model_params(scenario.value), [scenario.value])
    # Elements that only fill the app bar and sidebar (portals), kept out of the main column's layout.
    with solara.Div(style={"display": "none"}):
        NavTabs()
        solara.Style(CSS)
        with solara.Sidebar():
            ScenarioPicker(scenario)
        # Keyed by scenario: a new scenario re-mounts SolaraViz so its controls start at its values.
        # SolaraViz draws no components itself (components=[]): the dashboard below lays them out.
        SolaraViz(model, components=[], model_params=params, name=APP_TITLE).key(f"viz-{scenario.value}")
    Dashboard(model)


@solara.component
def ResultsTab() -> None:
    """The Results tab (see :mod:`model.viz.pages_results`)."""
    with solara.Div(style={"display": "none"}):
        NavTabs()
        solara.Style(CSS)
        solara.AppBarTitle(APP_TITLE)
    ResultsPage()


routes = [
    solara.Route(path="/", component=SimulationPage, label="Simulation"),
    solara.Route(path="results", component=ResultsTab, label="Results"),
]
