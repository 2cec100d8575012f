"""What the browser view lets a user change, and the model class SolaraViz rebuilds on Reset.

SolaraViz re-creates a model on Reset as ``type(model)(**values of model_params)``, so the scenario
must be a constructor argument: :class:`ScenarioModel` is :class:`~model.sim.model.ArmsRaceModel`
built from a scenario file (``experiments/scenarios/NAME.toml``) plus the page's overrides.
Slider bounds come from :func:`model.sim.params.specs`, never from this module.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from mesa.visualization import Slider

from model.errors import ParameterError
from model.sim.model import ArmsRaceModel
from model.sim.params import Params, specs
from model.sim.scenarios import Scenario, list_scenarios, load_scenario

DEFAULT_SCENARIO = "baseline"

MAIN_PARAMETERS = {
    "us_demand": "US demand of allies",
    "us_insistence": "US insistence",
    "alliance_credibility": "Alliance credibility",
    "threat_scale": "Threat sensitivity (multiplier)",
    "adjustment_speed_jpn": "Japan's adjustment speed",
    "threat_noise": "Threat noise",
    "counterattack": "Japan codifies counterattack capacity",
}
"""Parameters with a control on the page -> short label (the unit is added from the spec)."""


class ScenarioModel(ArmsRaceModel):
    """An ArmsRaceModel built from a named scenario, with parameter overrides and a seed.

    Args:
        scenario_name: scenario name (``armsrace scenarios``) or path to a scenario file.
        seed: seed of the run (an integer, or text holding one, as the page's seed box gives it).
        scenario: ignored. Mesa's SolaraViz passes its own ``mesa`` Scenario object on Reset;
            this model's parameters come from scenario files instead.
        **overrides: flat parameter names (``us_demand=0.035``) applied on top of the scenario.

    Raises:
        ParameterError: unknown scenario, bad seed, unknown parameter or value out of bounds.
    """

    def __init__(self, scenario_name: str = DEFAULT_SCENARIO, seed: int | str = 0, scenario: Any = None,
                 **overrides: Any) -> None:
        del scenario
        loaded = load_scenario(scenario_name)
        params = loaded.params.replace(**overrides) if overrides else loaded.params
        super().__init__(params=params, rng=parse_seed(seed))
        self.scenario_file: Scenario = loaded
        self.seed = parse_seed(seed)
        self._paths: tuple[int, dict[str, np.ndarray]] | None = None

    def paths(self) -> dict[str, np.ndarray]:
        """As :meth:`ArmsRaceModel.paths`, computed once per collected year.

        The page needs the paths twice per step (charts, and :meth:`summary`, which calls this);
        the table pivot behind them is the costliest part of a step after drawing.
        """
        collected = len(self.datacollector.model_vars["year"])
        if self._paths is None or self._paths[0] != collected:
            self._paths = (collected, super().paths())
        return self._paths[1]


class PageModel(ScenarioModel):
    """The page's model: a bad seed typed in the page does not break the page on Reset.

    SolaraViz builds the model inside its Reset handler, where an exception would replace the whole
    page with a traceback. Here a seed that is not a non-negative integer is replaced by 0 and the
    reason is kept in ``input_error`` for the page to show. Slider values cannot be out of bounds.
    """

    def __init__(self, scenario_name: str = DEFAULT_SCENARIO, seed: int | str = 0, scenario: Any = None,
                 **overrides: Any) -> None:
        self.input_error: str | None = None
        try:
            parse_seed(seed)
        except ParameterError as exc:
            self.input_error = f"{exc} This run uses seed 0."
            seed = 0
        super().__init__(scenario_name, seed, scenario, **overrides)


def parse_seed(seed: int | str) -> int:
    """The seed as a non-negative integer; text is stripped first."""
    try:
        value = int(str(seed).strip())
    except ValueError:
        value = -1
    if value < 0 or isinstance(seed, bool):
        raise ParameterError(f"The 'seed' parameter must be a non-negative integer. Got {seed!r} instead.")
    return value


def slider_step(low: float, high: float) -> float:
    """A power of ten giving between 100 and 1000 positions over [low, high]."""
    return 10.0 ** math.floor(math.log10((high - low) / 100))


def control(name: str, value: Any) -> Slider | dict:
    """The SolaraViz input for one parameter, starting at ``value``, with the spec's bounds."""
    spec = specs()[name]
    label = MAIN_PARAMETERS.get(name, name)
    if spec.kind == "bool":
        return {"type": "Checkbox", "value": bool(value), "label": label}
    if spec.unit:
        label = f"{label} [{spec.unit}]"
    if spec.kind == "int":
        return Slider(label, value=int(value), min=int(spec.low), max=int(spec.high), step=1, dtype=int)
    return Slider(label, value=float(value), min=float(spec.low), max=float(spec.high),
                  step=slider_step(spec.low, spec.high), dtype=float)


def model_params(scenario_name: str = DEFAULT_SCENARIO, seed: int = 0) -> dict[str, Any]:
    """SolaraViz ``model_params`` for a scenario: each control starts at the scenario's value.

    ``scenario_name`` is a fixed parameter (SolaraViz passes it back on Reset unchanged).
    """
    params = load_scenario(scenario_name).params
    out: dict[str, Any] = {"scenario_name": scenario_name}
    out.update({name: control(name, params[name]) for name in MAIN_PARAMETERS})
    out["seed"] = {"type": "InputText", "value": str(seed), "label": "Seed (random shocks; Enter, then Reset)"}
    return out


def describe_run(params: Params) -> str:
    """The page's parameters as set in a run, e.g. 'US demand of allies 3.5% of GDP · ...'."""
    parts = []
    for name, label in MAIN_PARAMETERS.items():
        value, unit = params[name], specs()[name].unit
        if isinstance(value, bool):
            parts.append(f"{label}: {'yes' if value else 'no'}")
        elif unit == "share of GDP":
            parts.append(f"{label} {100 * value:.1f}% of GDP")
        else:
            parts.append(f"{label} {value:g}" + (f" {unit}" if unit else ""))
    return " · ".join(parts)


def scenario_choices() -> dict[str, Scenario]:
    """Every shipped scenario by name (``experiments/scenarios/*.toml``)."""
    return {s.name: s for s in list_scenarios()}
