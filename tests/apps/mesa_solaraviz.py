"""Mesa's own SolaraViz page of ArmsRaceModel, as a Mesa user builds it (served by tests/test_viz_browser.py).

Mesa's components (``make_space_component`` with its default portrayal, ``make_plot_component`` of
per-country reporters), the model's own versions of them, and a scenario ``Select`` routed by Mesa
into the model's scenario on Reset. The model is built per page (``use_memo``), never at import:
a module-level model would be one object stepped by every browser session.
"""

import solara
from mesa.visualization import Slider, SolaraViz, make_plot_component, make_space_component

from model.sim.model import ArmsRaceModel
from model.sim.scenarios import list_scenarios
from model.viz.mesa_components import country_plot, network_space

MODEL_PARAMS = {
    "name": {"type": "Select", "value": "baseline", "values": [s.name for s in list_scenarios()],
             "label": "Scenario"},
    "rng": 1,
    "threat_noise": Slider("Threat noise (log-sd)", 0.05, 0.0, 0.5, 0.01),
}


def RunInfo(model):
    """The model's scenario and two of its parameters, as text the browser test reads."""
    return solara.Text(f"scenario {model.scenario_name} · insistence {model.params['us_insistence']:g} · "
                       f"year {model.year}", classes=["mesa-run-info"])


@solara.component
def Page():
    model = solara.use_memo(lambda: ArmsRaceModel(rng=1, threat_noise=0.05), [])
    components = [make_space_component(), make_plot_component({"burden_JPN": "#D55E00", "burden_CHN": "#CC79A7"}),
                  network_space(), country_plot("burden"), RunInfo]
    SolaraViz(model, components=components, model_params=MODEL_PARAMS, name="Arms race in Mesa's SolaraViz")
