"""``armsrace plot``: draw every chart of a sweep result folder into DIR/plots."""

from __future__ import annotations

import argparse
from pathlib import Path

from model.commands import add_force

ORDER = 50

HELP = """\
Draw the charts of a sweep result folder (the output of 'armsrace sweep') and write them, in
--out (default DIR/plots), as PNG and SVG (--format):
  phase_escalation             most frequent escalation class over the first two varied parameters
                               (one panel per value of a third parameter with at most 5 values)
  phase_spiral_share           share of runs ending in a spiral, same axes
  phase_regional_spending_growth   median regional spending growth, same axes
  response_*                   the same against the varied parameter, for one-parameter sweeps
  fan_chart                    each country's burden path over all runs: median, 25-75%, 5-95%
                               (needs the agents/ tables)
  outcome_distributions        escalation shares, regional growth, security-dilemma index and
                               allies' final burdens over all runs
  sobol_indices, .csv          first- and total-order Sobol indices with 95% intervals (Sobol designs)
  plots.json                   the files with a one-line description each
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="draw the charts of a sweep result folder",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", type=Path, metavar="DIR", help="result folder written by 'armsrace sweep'")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="output folder (default: DIR/plots)")
    p.add_argument("--format", default="png,svg", metavar="FMT[,FMT]",
                   help="image formats, comma-separated: png, svg, pdf (default: png,svg)")
    add_force(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from model.charts.sweep import write_plots

    paths = write_plots(args.dir, out=args.out, formats=args.format, force=args.force)
    folder = paths[0].parent if paths else args.out or args.dir / "plots"
    charts = sorted({p.stem for p in paths if p.suffix not in (".json", ".csv")})
    print(f"{args.dir.name}: {len(charts)} charts ({', '.join(charts)}); wrote {folder}/")
    return 0
