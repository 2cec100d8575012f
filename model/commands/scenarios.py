"""``armsrace scenarios`` lists the scenarios."""

from __future__ import annotations

import argparse

from model.errors import ParameterError

ORDER = 20


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scenarios", help="list the shipped scenarios, one line each",
                       description="List the scenario files (experiments/scenarios/*.toml of the clone, or of the "
                                   "working directory) with their description.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from model.sim.scenarios import list_scenarios, scenario_dir

    scenarios = list_scenarios()
    if not scenarios:
        raise ParameterError(f"No scenario files (*.toml) in {str(scenario_dir())!r}.")
    width = max(len(s.name) for s in scenarios)
    for s in scenarios:
        print(f"{s.name:<{width}}  {s.description}")
    return 0
