"""What the browser view lets a user change, and the model class Mesa's Reset rebuilds.

Mesa's ``ModelController`` re-creates the model on Reset as ``type(model)(**controls)``, so the
scenario is a constructor argument: :class:`ScenarioModel` is :class:`~model.sim.model.ArmsRaceModel`
built from a scenario file (``experiments/scenarios/NAME.toml``) plus the page's overrides, and
:func:`page_controls` gives those keyword arguments for a scenario. :class:`Control` says how a
parameter is shown: its label, and its value in the page's units (shares of GDP in %). Bounds come
from :func:`model.sim.params.specs`, never from this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.errors import ParameterError
from model.sim.model import ArmsRaceModel
from model.sim.params import Params, check_seed, specs
from model.sim.scenarios import Scenario, load_scenario, scan_scenarios

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
        rng = parse_seed(seed)
        super().__init__(scenario=scenario_name, rng=rng, **overrides)
        self.seed = rng
        self.build_kwargs: dict[str, Any] = {"scenario_name": scenario_name, "seed": seed, **overrides}
        """The arguments this run was built from (the page rebuilds it from them after a reload)."""
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
    page with a traceback. Here a seed that is not valid (:func:`parse_seed`) is replaced by 0 and the
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
    """The seed box's value as a seed (:func:`model.sim.params.check_seed`; text is stripped first)."""
    return check_seed(seed, "seed", text=True)


def slider_step(low: float, high: float) -> float:
    """A power of ten giving between 100 and 1000 positions over [low, high]."""
    return 10.0 ** math.floor(math.log10((high - low) / 100))


@dataclass(frozen=True)
class Control:
    """How the page shows one parameter: label (with unit), kind, and bounds in the page's units.

    Shares of GDP are shown in % (``scale`` 100): the slider moves in %, the model gets shares.
    """

    name: str
    label: str
    kind: str
    low: float = 0.0
    high: float = 1.0
    step: float = 1.0
    scale: float = 1.0

    def shown(self, value: Any) -> float:
        """A model value in the page's units."""
        return round(float(value) * self.scale, 10)

    def stored(self, shown: float) -> Any:
        """A value from the page in the model's units."""
        if self.kind == "int":
            return int(shown)
        return round(float(shown) / self.scale, 12)

    def text(self, value: Any) -> str:
        """The value as the page prints it next to the slider: '3.5%', '0.80'."""
        if self.kind == "bool":
            return "yes" if value else "no"
        digits = max(0, -math.floor(math.log10(self.step))) if self.kind == "float" else 0
        return f"{self.shown(value):.{digits}f}" + ("%" if self.scale == 100 else "")


def control(name: str) -> Control:
    """The page's control for one parameter, with the spec's bounds in the page's units."""
    spec = specs()[name]
    label = MAIN_PARAMETERS.get(name, name)
    if spec.kind == "bool":
        return Control(name, label, "bool")
    scale = 100.0 if spec.unit == "share of GDP" else 1.0
    unit = "% of GDP" if scale == 100 else spec.unit
    if unit:
        label = f"{label} ({unit})"
    if spec.kind == "int":
        return Control(name, label, "int", int(spec.low), int(spec.high), 1)
    low, high = float(spec.low) * scale, float(spec.high) * scale
    return Control(name, label, "float", low, high, slider_step(low, high), scale)


def page_controls(scenario_name: str = DEFAULT_SCENARIO, seed: int | str = "0") -> dict[str, Any]:
    """The controls' values for a scenario: ``PageModel`` keyword arguments (what Reset builds from).

    Each parameter with a control starts at the scenario's value; ``seed`` is kept as given (text).
    """
    params = load_scenario(scenario_name).params
    return {"scenario_name": scenario_name, "seed": str(seed), **{name: params[name] for name in MAIN_PARAMETERS}}


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


def scenario_choices() -> tuple[dict[str, Scenario], list[str]]:
    """Every shipped scenario that loads, by name (``experiments/scenarios/*.toml``), and the one-line
    error of each file that does not (one bad file must not hide the others)."""
    good, bad = scan_scenarios()
    return {s.name: s for s in good}, [str(e) for e in bad]
