"""ArmsRaceModel as a Mesa model: scenario= and seed= as Mesa passes them, integer node ids, per-country
reporters, and Mesa's own tools (batch_run, make_plot_component, make_space_component, SolaraViz Reset)
on it. The browser half (Mesa's SolaraViz page in Chromium) is in tests/test_viz_browser.py."""

from __future__ import annotations

import warnings

import ipyvuetify as v
import ipywidgets
import mesa
import numpy as np
import pytest
import solara
from mesa.experimental.scenarios import Scenario as MesaScenario

from model.errors import ParameterError
from model.sim.model import COUNTRY_REPORTERS, ArmsRaceModel, ArmsRaceScenario
from model.sim.scenarios import load_scenario


def _same_run(a: ArmsRaceModel, b: ArmsRaceModel, steps: int = 4) -> None:
    for _ in range(steps):
        a.step()
        b.step()
    for var, values in a.paths().items():
        np.testing.assert_array_equal(values, b.paths()[var], err_msg=var)


def test_scenario_by_name_is_the_scenario_file():
    m = ArmsRaceModel(scenario="nato_precedent_5", rng=3)
    assert m.params == load_scenario("nato_precedent_5").params and m.scenario_name == "nato_precedent_5"
    assert m.scenario.name == "nato_precedent_5" and isinstance(m.scenario, MesaScenario)
    assert m.scenario_file == load_scenario("nato_precedent_5") and ArmsRaceModel(rng=0).scenario_file is None
    _same_run(m, ArmsRaceModel.from_scenario("nato_precedent_5", rng=3))
    assert ArmsRaceModel(scenario="restraint", us_demand=0.03).params["us_demand"] == 0.03  # overrides on top


def test_mesa_scenario_as_solaraviz_passes_it_on_reset():
    # Reset calls type(model)(**model_params, scenario=type(model.scenario)(**routed keys)): rng stays a kwarg
    m = ArmsRaceModel(rng=7, scenario=ArmsRaceScenario(), us_demand=0.05)
    assert m.params["us_demand"] == 0.05 and m.scenario_name is None
    _same_run(m, ArmsRaceModel(rng=7, us_demand=0.05))
    assert ArmsRaceModel(rng=1, scenario=MesaScenario()).params == ArmsRaceModel(rng=1).params
    # the scenario's fields: the file's name, parameter overrides, and its rng seeds the run
    s = ArmsRaceModel(scenario=ArmsRaceScenario(name="restraint", rng=4, us_demand=0.03))
    assert (s.params["us_demand"], s.params["hostility_scale"]) == (0.03, 0.5)
    _same_run(s, ArmsRaceModel.from_scenario("restraint", rng=4, us_demand=0.03))


@pytest.mark.parametrize("kwargs, message", [
    ({"scenario": "no_such_scenario"}, "Unknown scenario 'no_such_scenario'"),
    ({"scenario": 3.5}, "The 'scenario' argument must be a scenario name"),
    ({"scenario": ArmsRaceScenario(rng=1), "rng": 2}, "The seed is given twice and differs"),
    ({"scenario": ArmsRaceScenario(bogus=1)}, "Unknown parameter 'bogus'"),
    ({"seed": 1, "rng": 1}, "Pass the seed once, as rng="),
    ({"rng": -1}, r"The 'rng' parameter must be an integer in \[0, 2\*\*63 - 1\]. Got -1 instead"),
    ({"rng": 1.5}, "The 'rng' parameter must be an integer.*Got 1.5"),
    ({"rng": True}, "The 'rng' parameter must be an integer.*Got True"),
    ({"scenario": ArmsRaceScenario(rng="x")}, "The 'rng' parameter must be an integer.*Got 'x'"),
    ({"rng": np.bool_(True)}, "The 'rng' parameter must be an integer.*Got np.True_"),
    ({"seed": -1}, "The 'seed' parameter must be an integer.*Got -1"),
])
@pytest.mark.filterwarnings("ignore:The use of the `seed` keyword:FutureWarning")
def test_bad_scenario_or_seed_is_one_line(kwargs, message):
    with pytest.raises(ParameterError, match=message) as err:
        ArmsRaceModel(**kwargs)
    assert "\n" not in str(err.value)


def test_seed_is_mesas_deprecated_rng():
    with pytest.warns(FutureWarning, match="use `rng` instead"):
        m = ArmsRaceModel(seed=11, threat_noise=0.1)
    _same_run(m, ArmsRaceModel(rng=11, threat_noise=0.1))


def test_network_has_integer_ids_and_iso_attributes():
    m = ArmsRaceModel(rng=0)
    g = m.space.G
    assert list(g.nodes) == list(range(7))
    assert [g.nodes[i]["iso"] for i in g.nodes] == list(m.inputs.countries)
    for a in m.countries:
        assert a.cell.coordinate == a.index and m.agent(a.iso) is a
    assert m.agent("jpn").iso == "JPN"
    with pytest.raises(ParameterError, match="'XYZ' is not in this run"):
        m.agent("XYZ")
    two = ArmsRaceModel(scenario="richardson", rng=0)  # two countries: ids 0 and 1
    assert [two.space.G.nodes[i]["iso"] for i in two.space.G.nodes] == ["JPN", "CHN"]


def test_country_reporters_equal_the_agent_table():
    m = ArmsRaceModel(scenario="nato_precedent_5", rng=2, threat_noise=0.05).run()
    reporters = m.datacollector.get_model_vars_dataframe()
    table = m.agent_table()
    for var in COUNTRY_REPORTERS:
        for iso in m.inputs.countries:
            np.testing.assert_array_equal(reporters[f"{var}_{iso}"].to_numpy(),
                                          table.loc[table["country"] == iso, var].to_numpy(), err_msg=f"{var}_{iso}")


def test_mesa_batch_run_over_named_scenarios():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        rows = mesa.batch_run(ArmsRaceModel, {"scenario": ["baseline", "nato_precedent_5"], "until": 2030},
                              rng=[1], data_collection_period=-1, display_progress=False)
    final = {r["scenario"]: r for r in rows if r["country"] == "JPN"}
    assert set(final) == {"baseline", "nato_precedent_5"}
    assert all(r["year"] == 2030 for r in final.values())
    assert final["nato_precedent_5"]["burden_JPN"] > final["baseline"]["burden_JPN"]


def _images(rc) -> list:
    return rc.find(ipywidgets.Image).widgets


def test_mesas_solaraviz_with_plot_and_space_components_resets_to_the_chosen_scenario():
    """Mesa's own page: make_plot_component of a country reporter, make_space_component of the network."""
    from mesa.visualization import SolaraViz, make_plot_component, make_space_component

    from model.viz.mesa_components import country_plot, network_space

    model = solara.reactive(ArmsRaceModel(rng=1))
    components = [make_space_component(), make_plot_component({"burden_JPN": "red", "burden_CHN": "blue"}),
                  network_space(), country_plot("burden")]
    params = {"name": "nato_precedent_5", "rng": 2, "us_demand": mesa.visualization.Slider("US demand", 0.05, 0, 0.2,
                                                                                            0.01)}
    page = SolaraViz(model, components=components, model_params=params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # Mesa's default portrayal is a dict
        box, rc = solara.render(solara.AppLayout(children=[page]), handle_error=False)
        try:
            assert len(_images(rc)) == 4
            rc.find(v.Btn, children=["Step"]).widget.click()
            assert model.value.year == 2025
            rc.find(v.Btn, children=["Reset"]).widget.click()
            assert (model.value.scenario_name, model.value.year, model.value.params["us_demand"]) == \
                ("nato_precedent_5", 2024, 0.05)
            rc.find(v.Btn, children=["Step"]).widget.click()
            assert model.value.year == 2025 and len(_images(rc)) == 4
        finally:
            rc.close()


def _drawn_figure(monkeypatch, component, model):
    """The matplotlib figure Mesa's plot component draws for ``model`` (solara.FigureMatplotlib intercepted)."""
    from mesa.visualization.components import matplotlib_components

    figures = []
    monkeypatch.setattr(matplotlib_components.solara, "FigureMatplotlib", lambda fig, **_: figures.append(fig))
    box, rc = solara.render(component(model), handle_error=False)
    rc.close()
    assert len(figures) == 1
    return figures[0]


@pytest.mark.parametrize("start,until", [(1995, 2005), (2024, 2034)])
def test_mesa_country_plot_labels_steps_with_the_runs_own_years(monkeypatch, start, until):
    from model.viz.mesa_components import country_plot

    model = ArmsRaceModel(start_year=start, until=until, rng=1).run()
    component, page = country_plot("threat")
    ax = _drawn_figure(monkeypatch, component, model).axes[0]
    low, high = ax.get_xlim()
    steps = [s for s in ax.get_xticks() if low <= s <= high]
    labels = ax.xaxis.get_major_formatter().format_ticks(steps)
    assert labels[0] == str(start) and labels == [str(start + int(s)) for s in steps], labels
    assert int(labels[-1]) > until - 5 and page == 0
    # threat in the unit model.sim.units declares: US$ bn of hostile spending, not an index
    assert ax.get_ylabel() == "Perceived threat (US$ bn)"
    assert ax.get_lines()[0].get_ydata()[-1] > 10


def test_mesa_country_plot_units_come_from_the_unit_declaration(monkeypatch):
    from model.sim.units import UNITS, shown
    from model.viz.mesa_components import country_plot

    assert "US$ bn" in UNITS["threat"] and shown("threat") == ("US$ bn", 1.0)
    model = ArmsRaceModel(threat_model="linear", countries=["USA", "JPN", "CHN"], rng=1)
    ax = _drawn_figure(monkeypatch, country_plot("threat")[0], model).axes[0]
    assert ax.get_ylabel() == f"Perceived threat ({shown('threat', linear=True)[0]})"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["United States", "Japan", "China"]
    ax = _drawn_figure(monkeypatch, country_plot("burden")[0], model).axes[0]
    assert ax.get_ylabel() == "Military burden (% of GDP)"
    assert ax.yaxis.get_major_formatter()(0.02, 0) == "2"
