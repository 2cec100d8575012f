"""``armsrace scenarios`` lists the scenarios."""

from __future__ import annotations

import argparse
import sys

from model.errors import ParameterError

ORDER = 20


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scenarios", help="list the shipped scenarios, one line each",
                       description="List the scenario files (experiments/scenarios/*.toml of the clone, or of the "
                                   "working directory) with their description. A file that cannot be loaded is "
                                   "named on stderr, one line each, after the others are listed (exit status 2).")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the scenarios that load; each file that does not gets its one-line error, and the status is 2."""
    from model.sim.scenarios import scan_scenarios, scenario_dir

    scenarios, errors = scan_scenarios()
    if not scenarios and not errors:
        raise ParameterError(f"No scenario files (*.toml) in {str(scenario_dir())!r}.")
    width = max((len(s.name) for s in scenarios), default=0)
    for s in scenarios:
        print(f"{s.name:<{width}}  {s.description}")
    sys.stdout.flush()
    for exc in errors:
        print(f"armsrace scenarios: error: {exc}", file=sys.stderr)
    return 2 if errors else 0
