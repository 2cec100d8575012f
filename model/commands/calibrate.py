"""``armsrace calibrate``: fit the response coefficients to the SIPRI history, write a scenario file."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from model.errors import OutputError, UsageError

ORDER = 80
DEFAULT_TRAIN = (1995, 2014)
"""The default fitted years: :data:`model.analysis.calibrate.DEFAULT_TRAIN`, repeated here so that
``--help`` needs no numpy (tests/test_layers.py checks that the two agree)."""
OBJECTIVES = ("one-step", "free-run")
""":data:`model.analysis.calibrate.OBJECTIVES`, repeated for the same reason (checked likewise)."""

HELP = """\
Fit each country's threat sensitivity, adjustment speed, drift and intercept (baseline burden,
anchoring off) to its SIPRI burden history by bounded least squares, and write the calibrated set
as a scenario file (same format as experiments/scenarios/*.toml) with the fit statistics in its
comments. Objective 'one-step' (default): each year is predicted by one model year started from
the observed state of the year before. North Korea has no SIPRI series: it is not fitted.

Run the result with:  armsrace run --scenario results/calibrated.toml
(copy it to experiments/scenarios/ to list it among the shipped scenarios)."""


def parse_years(text: str, option: str) -> tuple[int, int]:
    """``"1995-2014"`` -> (1995, 2014); UsageError otherwise."""
    first, sep, last = text.partition("-")
    try:
        a, b = int(first), int(last)
    except ValueError:
        a = b = None
    if not sep or a is None or b <= a:
        raise UsageError(f"The {option!r} option must look like FIRST-LAST with FIRST < LAST, "
                         f"e.g. 1995-2014. Got {text!r} instead.")
    return a, b


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="fit response coefficients to the SIPRI history (scenario file)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", default=f"{DEFAULT_TRAIN[0]}-{DEFAULT_TRAIN[1]}", metavar="FIRST-LAST",
                   help="fitted years, inclusive (default: %(default)s); the calibrated scenario starts in LAST")
    p.add_argument("--objective", choices=OBJECTIVES, default="one-step",
                   help="one-step: predict each year from the observed year before (default); free-run: "
                        "simulate each country through the window, the others observed")
    p.add_argument("--out", type=Path, default=Path("results") / "calibrated.toml", metavar="FILE",
                   help="scenario file to write (default: %(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from model.analysis.calibrate import calibrate, coefficient_table, write_scenario
    from model.batch.store import check_writable

    train = parse_years(args.train, "--train")
    out = Path(args.out)
    if out.is_dir():
        raise OutputError(f"The '--out' file {str(out)!r} is a folder.")
    check_writable(out.parent, "--out")
    t0 = time.perf_counter()
    cal = calibrate(train=train, objective=args.objective)
    write_scenario(cal, out)
    table = coefficient_table(cal)
    print(f"Calibrated {train[0]}-{train[1]} ({args.objective}) in {time.perf_counter() - t0:.1f} s; "
          f"North Korea not fitted (no SIPRI series).")
    print(f"{'':5}{'intercept':>10}{'threat_s':>10}{'speed':>8}{'drift':>10}"
          f"{'RMSE pp':>9}{'no-chg':>8}{'R2':>7}{'R2 chg':>8}")
    for iso, r in table.iterrows():
        print(f"{iso:<5}{r['baseline_burden']:>10.4f}{r['threat_sensitivity']:>10.4f}"
              f"{r['adjustment_speed']:>8.3f}{r['drift']:>10.5f}{r['rmse_pp']:>9.3f}"
              f"{r['rmse_persistence_pp']:>8.3f}{r['r2_level']:>7.2f}{r['r2_change']:>8.2f}")
    print(f"wrote {out}")
    return 0
