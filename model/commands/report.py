"""``armsrace report``: scenarios, the article's claims checked, backtest, sensitivity, limits."""

from __future__ import annotations

import argparse
from pathlib import Path

ORDER = 100
FIG_DIR = "report"
""":data:`model.report.FIG_DIR`, repeated so that ``--help`` needs no numpy (tests/test_layers.py checks it)."""

HELP = f"""\
Write REPORT.md in --out with its figures and tables in --out/{FIG_DIR}/: the six article scenarios
side by side; which of the article's claims the model reproduces (each a computed comparison, built
in or emergent, with its interval over coefficient draws); the estimated decision rule, its
robustness and the rolling out-of-sample backtest against naive forecasts; the Sobol sensitivity
analysis of experiments/sensitivity.toml (the same indices as 'armsrace sweep' and 'armsrace plot'
of that file give); the main escalation experiment (experiments/escalation.toml) with the region
of stable, build-up and spiral runs; and the assumptions and data limits. About six seconds;
--quick uses small samples (a few seconds) and says so in the report."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write REPORT.md: scenarios, claims, backtest, sensitivity, limits",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("results"), metavar="DIR",
                   help="folder for REPORT.md and %(metavar)s/report/ (default: results/)")
    p.add_argument("--quick", action="store_true",
                   help="small samples (Sobol N=8 instead of the experiment's, two backtest origins, 20 coefficient "
                        "draws): seconds, for tests")
    p.add_argument("--seed", default="0", metavar="N",
                   help="seed of the bootstrap intervals of the Sobol indices (default: 0; the design and run "
                        "seeds are the experiment's)")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier report's own files (REPORT.md and report/*), never other files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from model.report import QUICK, Settings, write_report
    from model.sim.params import check_seed

    settings = replace(QUICK if args.quick else Settings(), seed=check_seed(args.seed, "--seed", text=True))
    rep = write_report(args.out, settings, force=args.force)
    claims = rep.tables["claims"]
    counts = claims["verdict"].value_counts()
    print("Claims checked: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    print(f"{rep.timings['total']:.1f} s; wrote {Path(args.out) / 'REPORT.md'} and {Path(args.out) / FIG_DIR}/")
    return 0
