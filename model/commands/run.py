"""``armsrace run``: one model run of a scenario, with tables, summary, metadata and plots."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

from model.commands import add_force
from model.errors import ParameterError

ORDER = 10
OUTPUTS = ("agents.parquet", "agents.csv", "summary.json", "summary.csv", "metadata.json", "burden.png",
           "spending.png", "threat.png")
"""The files a run writes (checked before it runs: nothing in the way, or --force and its own)."""

HELP = """\
Run one scenario from its start year (observed 2024 data) to --until and write, in --out:
  agents.parquet, agents.csv   one row per country-year: burden (share of GDP), spending and GDP
                               (US$ bn, constant 2023), capability (US$ bn), threat, pressure, backlash
  summary.json, summary.csv    escalation class, allies' years of crossing 2%/3.5%/5%, peak and final
                               burdens, regional spending growth, security-dilemma index
  metadata.json                every parameter, the seed, package versions and the code version
  burden.png, spending.png, threat.png
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run one scenario and write tables, summary and plots",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", default="baseline", metavar="NAME|PATH",
                   help="scenario name from 'armsrace scenarios' or a path to a .toml file (default: baseline)")
    p.add_argument("--seed", default="0", metavar="N",
                   help="seed of the run's random generator, an integer in [0, 2**63 - 1] (default: 0)")
    p.add_argument("--until", type=int, default=None, metavar="YEAR",
                   help="last simulated year (default: the scenario's, 2040)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override one parameter, e.g. --set us_demand=0.035 (repeatable; see 'armsrace params')")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default: results/run-<scenario>)")
    add_force(p)
    p.set_defaults(func=run)


def parse_set(items: list[str]) -> dict:
    """``NAME=VALUE`` pairs, values parsed as TOML scalars (numbers, true/false, strings, lists).

    Names and values are checked where every parameter is: by ``Params``.
    """
    out = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"The '--set' option must look like NAME=VALUE. Got {item!r} instead.")
        try:
            out[name.strip()] = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            out[name.strip()] = raw.strip()
    return out


def run(args: argparse.Namespace) -> int:
    from model.batch.store import metadata, staged_output, write_csv, write_json, write_table
    from model.sim.params import check_seed
    from model.sim.scenarios import load_scenario

    seed = check_seed(args.seed, "--seed", text=True)
    scenario = load_scenario(args.scenario)
    overrides = parse_set(args.set)
    if args.until is not None:
        overrides["until"] = args.until
    params = scenario.params.replace(**overrides) if overrides else scenario.params
    out = args.out or Path("results") / f"run-{scenario.name}"
    with staged_output(out, command="run", force=args.force, expect=OUTPUTS) as stage:
        import pandas as pd

        from model.charts.run import RUN_FIGURES  # Matplotlib and Mesa load only once the output can be written
        from model.charts.style import save_figure
        from model.sim.model import ArmsRaceModel
        from model.sim.units import UNITS

        model = ArmsRaceModel(params=params, rng=seed).run()
        table = model.agent_table()
        summary = {"scenario": scenario.name, "seed": seed, **model.summary()}
        write_table(table, stage, "agents")
        write_json(summary, stage / "summary.json")
        write_csv(pd.DataFrame([summary]), stage / "summary.csv")
        write_json(metadata(scenario=scenario.name, scenario_file=str(scenario.path), seed=seed,
                            parameters=params.values, overrides=overrides, agent_units=UNITS),
                   stage / "metadata.json")
        title = f"Scenario '{scenario.name}' (seed {seed}): {scenario.description}"
        for stem, plot in RUN_FIGURES.items():
            save_figure(plot(table, title, linear=model.inputs.linear), stage, stem, ("png",), dpi=120)
    print(f"{scenario.name}: {summary['escalation']}, regional spending "
          f"{summary['regional_spending_growth']:+.1%} {params['start_year']}-{params['until']}, "
          f"security-dilemma index {summary['security_dilemma_index']:.2f}; wrote {out}/")
    return 0
