"""The public Python API in one import: ``from model.api import ArmsRaceModel, run_batch, ...``.

The names here are the stable surface for notebooks, scripts and tests; the modules behind them
may move between the package's wings without breaking user code.
"""

from model.batch.engine import run_batch
from model.batch.experiments import load_experiment
from model.sim.model import ArmsRaceModel
from model.sim.params import Params
from model.sim.scenarios import list_scenarios, load_scenario

__all__ = ["ArmsRaceModel", "Params", "list_scenarios", "load_experiment", "load_scenario", "run_batch"]
