"""``armsrace params`` lists every parameter with its default, bounds, unit and meaning."""

from __future__ import annotations

import argparse

ORDER = 30


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("params", help="list every parameter: default, allowed values, unit, meaning",
                       description="List the model parameters. Per-country parameters are named "
                                   "<field>_<iso3>, hostility hostility_<observer>_<source>.")
    p.add_argument("pattern", nargs="?", default="", help="show only names containing this text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from model.sim.params import specs

    for name, spec in specs().items():
        if args.pattern in name:
            default = "data" if spec.default is None else spec.default
            unit = f" [{spec.unit}]" if spec.unit else ""
            print(f"{name} = {default!r}  ({spec.describe()}){unit}  {spec.doc}")
    return 0
