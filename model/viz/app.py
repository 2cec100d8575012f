"""Browser view of the arms-race model: a Mesa SolaraViz page plus a results browser.

Start it with ``armsrace viz`` (which runs ``solara run model.viz.app`` with the offline settings
of :mod:`model.viz.offline_assets`). Two tabs:

* **Simulation** (``/``): pick a scenario (``experiments/scenarios/``), change the main
  parameters and the seed, then Step, Play or Reset with Mesa's own ``ModelController`` (the
  buttons of SolaraViz; SolaraViz's other controls, "Render Interval", "Use Threads" and
  "Time: x", are left out: the page shows the year itself). The page shows
  the current year, the escalation class and security-dilemma index of the years run so far
  (:meth:`model.sim.model.ArmsRaceModel.summary`), the alliance/rivalry network (node area: military
  spending) and, per country, the military burden (% of GDP, with the 2%, 3.5% and 5% lines),
  perceived threat and US alliance pressure over time.
* **Results** (``/results``): the charts of result folders side by side
  (:mod:`model.viz.pages_results`).

Each browser page gets its own model, built on first use, never at import, so users never share
or step each other's model; the run and the controls' values live in :mod:`model.viz.state`, so a
visit to the Results tab, or a reload (same browser session), finds the run where it was. Choosing
another scenario builds a new run and sets the controls to that scenario's values; Reset rebuilds
the run from the controls (scenario, seed, parameters; :class:`model.viz.controls.PageModel`).
Sliders move in the page's units (shares of GDP in %) and print their value beside them. Colours
come from the package palette (:mod:`model.charts.style`). Charts are redrawn incrementally
(:mod:`model.viz.charts`) so a Step renders quickly. The model never imports this module.
"""

from __future__ import annotations

import solara
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import update_counter

from model.charts.style import ESCALATION_COLORS
from model.sim.params import NAMES
from model.viz import state
from model.viz.charts import CHARTS
from model.viz.controls import MAIN_PARAMETERS, ScenarioModel, control, describe_run, scenario_choices
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
.armsrace-control-value { min-width: 4.2em; text-align: right; font-variant-numeric: tabular-nums;
                          font-weight: 600; }
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
def ScenarioPicker() -> None:
    """Scenario choice with its description and the claim it encodes."""
    choices, broken = solara.use_memo(scenario_choices, [])
    name = state.controls.value["scenario_name"]
    chosen = choices.get(name)
    with solara.Card("Scenario", margin=0):
        for error in broken:  # one bad file is named here and hides none of the others
            solara.Warning(error, dense=True)
        solara.Select("Scenario", values=list(choices), value=name if chosen else None,
                      on_value=state.choose_scenario, classes=["armsrace-scenario-select"])
        if chosen:
            solara.Text(chosen.description, style={"display": "block", "margin-bottom": "4px"})
            if chosen.claim:
                solara.Text(f"Claim: {chosen.claim}", style={"display": "block", "font-size": "0.85em",
                                                              "color": "#666"})
        solara.Text("Choosing a scenario starts a new run of it; the controls below then apply on Reset.",
                    style={"display": "block", "font-size": "0.8em", "color": "#888", "margin-top": "6px"})


@solara.component
def ControlRow(name: str) -> None:
    """One parameter's control in the page's units, with its value printed beside it."""
    ctl = control(name)
    value = state.controls.value[name]
    if ctl.kind == "bool":
        solara.Checkbox(label=ctl.label, value=bool(value), on_value=lambda v: state.set_control(name, bool(v)))
        return
    slider = solara.SliderInt if ctl.kind == "int" else solara.SliderFloat
    with solara.Row(style={"align-items": "center"}, gap="6px"):
        with solara.Div(style={"flex": "1 1 auto", "min-width": "0"}):
            slider(ctl.label, value=ctl.shown(value), min=ctl.low, max=ctl.high, step=ctl.step, thumb_label=False,
                   on_value=lambda v: state.set_control(name, ctl.stored(v)))
        solara.Text(ctl.text(value), classes=["armsrace-control-value", f"armsrace-control-{name}"])


@solara.component
def RunControls() -> None:
    """Mesa's Reset / Play / Step (its ModelController), the play speed, the parameters and the seed."""
    model = state.model
    with solara.Card("Run", margin=0):
        # Keyed by the run: a new run (scenario switch, Reset) gets fresh play/running state.
        ModelController(model, model_parameters=state.controls, play_interval=state.play_interval,
                        render_interval=solara.use_reactive(1),
                        use_threads=solara.use_reactive(False)).key(f"controller-{id(model.value)}")
        solara.SliderInt("Pause between years (ms)", value=state.play_interval, min=0, max=500, step=10,
                         thumb_label=False)
        solara.Text(f"{state.play_interval.value} ms between years when playing",
                    style={"font-size": "0.8em", "color": "#666"})
    with solara.Card("Parameters", subtitle="Applied on Reset", margin=0):
        for name in MAIN_PARAMETERS:
            ControlRow(name)
        solara.InputText("Seed (random shocks; Enter, then Reset)", value=str(state.controls.value["seed"]),
                         on_value=lambda v: state.set_control("seed", v), classes=["armsrace-seed"])


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
def Dashboard() -> None:
    """Headline numbers and the four live charts; re-renders on every Step (Mesa's update counter)."""
    update_counter.get()
    m = state.model.value
    state.remember(m, state.controls.value)  # after every step too: a reload finds this year
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
    """Scenario picker, run controls and parameters in the sidebar; the dashboard."""
    state.remember(state.model.value, state.controls.value)
    # Elements that only fill the app bar and sidebar (portals), kept out of the main column's layout.
    with solara.Div(style={"display": "none"}):
        NavTabs()
        solara.Style(CSS)
        solara.AppBarTitle(APP_TITLE)
        with solara.Sidebar(), solara.Column(gap="12px"):
            ScenarioPicker()
            RunControls()
    Dashboard()


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
