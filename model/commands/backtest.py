"""``armsrace backtest``: calibrate on the years up to YEAR, forecast the years after, score vs naive forecasts."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from model.commands.calibrate import DEFAULT_TRAIN, OBJECTIVES

ORDER = 90

HELP = """\
Calibrate the model on SIPRI burdens from --train-start to --train-until (see 'armsrace calibrate'),
start it from the observed state of --train-until, simulate to --test-until without noise, and
compare burden and spending with the data and with two naive forecasts from the training years:
the last value carried forward and a linear trend. Writes, in --out:
  backtest.csv          per country and variable: RMSE (burden in percentage points of GDP, spending
                        in US$ bn, constant 2023 prices) and MAPE (%) of model, last value and trend,
                        and which forecast wins (best_rmse, best_mape)
  forecasts.csv         year, country, variable, actual, model, last, trend
  coefficients.csv      the calibrated coefficients with standard errors and fit statistics
  calibrated.toml       the calibrated scenario that was simulated
  backtest_burden.png, backtest_spending.png   actual vs forecasts, one panel per country
  metadata.json"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backtest", help="out-of-sample check of the calibrated model against naive forecasts",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train-until", type=int, required=True, metavar="YEAR",
                   help="last training year; the forecast starts from its observed state")
    p.add_argument("--test-until", type=int, default=2024, metavar="YEAR",
                   help="last test year (default: %(default)s, the last SIPRI year)")
    p.add_argument("--train-start", type=int, default=DEFAULT_TRAIN[0], metavar="YEAR",
                   help="first training year (default: %(default)s)")
    p.add_argument("--objective", choices=OBJECTIVES, default="one-step",
                   help="calibration objective (default: %(default)s; see 'armsrace calibrate --help')")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default: results/backtest-<train-until>)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from model.analysis.backtest import backtest, format_table
    from model.analysis.calibrate import coefficient_table, to_toml
    from model.batch.store import metadata, staged_output, write_csv, write_json, write_text
    from model.charts.backtest import plot_backtest
    from model.charts.style import save_figure

    out = args.out or Path("results") / f"backtest-{args.train_until}"
    t0 = time.perf_counter()
    with staged_output(out) as stage:
        result = backtest(args.train_until, args.test_until, args.train_start, objective=args.objective)
        write_csv(result.table, stage / "backtest.csv")
        write_csv(result.forecasts, stage / "forecasts.csv")
        write_csv(coefficient_table(result.calibration), stage / "coefficients.csv", index=True)
        command = "armsrace backtest " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
            if k in ("train_until", "test_until", "train_start", "objective"))
        write_text(to_toml(result.calibration, command), stage / "calibrated.toml")
        for var in ("burden", "spending"):
            save_figure(plot_backtest(result, var), stage, f"backtest_{var}", ("png",), dpi=120)
        write_json(metadata(train=list(result.train), test=list(result.test), objective=args.objective,
                            parameters=result.params.values), stage / "metadata.json")
    print(f"Backtest: trained {result.train[0]}-{result.train[1]} ({args.objective}), tested "
          f"{result.test[0]}-{result.test[1]}; North Korea not scored (no SIPRI series).")
    print(format_table(result.table))
    print(f"{time.perf_counter() - t0:.1f} s; wrote {out}/")
    return 0
