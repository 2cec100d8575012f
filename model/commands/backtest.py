"""``armsrace backtest``: the scenario model forecast from one origin, or from rolling origins, vs naive forecasts."""

from __future__ import annotations

import argparse
from pathlib import Path

from model.commands import add_force

ORDER = 90
ORIGINS = tuple(range(2005, 2017))
""":data:`model.analysis.backtest.ORIGINS`, repeated so that ``--help`` needs no numpy (tests/test_layers.py
checks that the two agree)."""

HELP = """\
Estimate the decision rule on the years up to an origin (see 'armsrace calibrate'), run the
scenario model itself -- the same parameters and anchoring that run the scenarios -- from the
observed state of the origin to --test-until without shocks, and score burden and spending
against the data and naive forecasts made from the years up to the origin: the last value, a
linear trend and a random walk with drift (last 10 years), and for spending the last burden
times the model's own GDP path. Writes, in --out:
  backtest.csv         per country and variable (and origin): RMSE (burden in pp of GDP, spending in
                       US$ bn, constant 2023 prices) and MAPE (%) of each forecast, ratio_last
                       (RMSE model / RMSE last value), best_rmse
  forecasts.csv        year, country, variable, actual and each forecast (one origin)
  summary.csv          (rolling) per origin and overall: geometric mean of ratio_last over countries
                       with a bootstrap 95% interval, and the model's wins
  coefficients.csv     the estimate at the (last) origin
  backtest_burden.png, backtest_spending.png (one origin) or backtest_rolling.png (rolling)
  metadata.json
Give --train-until YEAR for one origin, or --rolling [FIRST-LAST] for every origin (2005-2016)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backtest", help="out-of-sample check of the scenario model against naive forecasts",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--train-until", type=int, metavar="YEAR",
                      help="the origin: last training year; the forecast starts from its observed state")
    what.add_argument("--rolling", nargs="?", const=f"{ORIGINS[0]}-{ORIGINS[-1]}", metavar="FIRST-LAST",
                      help=f"every origin from FIRST to LAST (default {ORIGINS[0]}-{ORIGINS[-1]})")
    p.add_argument("--test-until", type=int, default=2024, metavar="YEAR",
                   help="last test year (default: %(default)s, the last SIPRI year)")
    p.add_argument("--train-start", type=int, default=1993, metavar="YEAR",
                   help="first year of every estimation sample (default: %(default)s)")
    p.add_argument("--seed", default="0", metavar="N", help="seed of the bootstrap intervals (default 0)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default: results/backtest-<train-until> or results/backtest-rolling)")
    add_force(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from model.analysis import backtest as bt
    from model.batch.store import metadata, staged_output, write_csv, write_json
    from model.charts.backtest import plot_backtest, plot_rolling
    from model.charts.style import save_figure
    from model.commands.calibrate import parse_years
    from model.sim.params import check_seed

    seed = check_seed(args.seed, "--seed", text=True)
    t0 = time.perf_counter()
    if args.rolling:
        first, last = parse_years(args.rolling, "--rolling")
        out = args.out or Path("results") / "backtest-rolling"
        with staged_output(out, command="backtest", force=args.force, expect=("backtest.csv", "metadata.json")) \
                as stage:
            result = bt.rolling(tuple(range(first, last + 1)), args.test_until, args.train_start, seed=seed,
                                progress=True)
            write_csv(result.table, stage / "backtest.csv")
            write_csv(result.summary, stage / "summary.csv")
            write_csv(result.results[-1].calibration.coefficient_table(), stage / "coefficients.csv")
            save_figure(plot_rolling(result), stage, "backtest_rolling", ("png",), dpi=120)
            write_json(metadata(origins=[first, last], test_until=args.test_until, train_start=args.train_start,
                                seed=seed), stage / "metadata.json")
        print(f"Rolling backtest of the scenario model, origins {first}-{last}, scored to {args.test_until}; "
              f"North Korea not scored (no SIPRI series).")
        print(bt.format_summary(result.summary))
    else:
        out = args.out or Path("results") / f"backtest-{args.train_until}"
        with staged_output(out, command="backtest", force=args.force, expect=("backtest.csv", "metadata.json")) \
                as stage:
            result = bt.backtest(args.train_until, args.test_until, args.train_start)
            write_csv(result.table, stage / "backtest.csv")
            write_csv(result.forecasts, stage / "forecasts.csv")
            write_csv(result.calibration.coefficient_table(), stage / "coefficients.csv")
            for var in ("burden", "spending"):
                save_figure(plot_backtest(result, var), stage, f"backtest_{var}", ("png",), dpi=120)
            write_json(metadata(train=list(result.train), test=list(result.test), parameters=result.params.values),
                       stage / "metadata.json")
        print(f"Backtest from {result.origin}: estimated {result.train[0]}-{result.train[1]}, scored "
              f"{result.test[0]}-{result.test[1]}; North Korea not scored (no SIPRI series).")
        print(bt.format_table(result.table))
    print(f"{time.perf_counter() - t0:.1f} s; wrote {out}/")
    return 0
