"""``armsrace compare``: draw and tabulate the differences B - A of sweep results against the first (A)."""

from __future__ import annotations

import argparse
from pathlib import Path

from model.commands import add_force

ORDER = 60

HELP = """\
Compare two or more sweep result folders (the output of 'armsrace sweep'); the first is the
reference. Writes, in --out (default results/compare-<A>-vs-<B>):
  differences.csv, differences.md   mean of each key outcome per experiment (escalation shares,
                               regional growth and burden, security-dilemma index, final burdens,
                               allies' crossings of 2/3.5/5%) with 95% intervals, and the difference
                               B - A against the first with its 95% interval. Intervals: Student-t
                               over replicate means (2+ replicates) or over runs; differences:
                               paired run by run when the sweeps share seeds (the same experiment
                               file on another base scenario does), else Welch.
  fan_difference               B - A of each country's burden path: spread of paired differences,
                               their mean and its paired 95% interval (needs agent tables)
  phase_difference_*           B - A per cell of two swept grid parameters, on a diverging scale
                               centred on 0 (cells: runs of B minus runs of A, e.g. "+2/8")
  outcome_distributions        the outcome distributions overlaid
  phase_* / response_*         side by side on one colour scale when the designs are not both grids
                               over common values (or one parameter is varied)
  compare.json                 the compared folders, their experiment hashes and provenance
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare sweep results: differences B - A, charts and a table",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dirs", type=Path, nargs="+", metavar="DIR",
                   help="result folders written by 'armsrace sweep' (at least two; the first is the reference)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default: results/compare-<A>-vs-<B>)")
    p.add_argument("--format", default="png,svg", metavar="FMT[,FMT]",
                   help="image formats, comma-separated: png, svg, pdf (default: png,svg)")
    add_force(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from model.charts.compare import compare, default_out

    out = args.out or default_out(args.dirs)
    result = compare(args.dirs, out, formats=args.format, force=args.force)
    spiral = result.table[result.table["outcome"] == "share_spiral"].set_index("experiment")["mean"]
    growth = result.table[result.table["outcome"] == "regional_spending_growth"].set_index("experiment")["mean"]
    parts = [f"{lab}: spiral {spiral.get(lab, float('nan')):.0f}%, growth {growth.get(lab, float('nan')):+.0f}%"
             for lab in result.labels]
    print(f"{'; '.join(parts)}; wrote {out}/")
    return 0
