"""``armsrace discover``: scenario discovery on a finished sweep (PRIM boxes, feature scores)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from model.commands import add_force

ORDER = 55

HELP = """\
Find where in a finished sweep an outcome happens: PRIM (EMA Workbench) peels the space of the
varied parameters down to a box where the outcome is frequent, and extra trees score which
parameters matter. The outcome is an escalation class (stable, buildup, spiral) or a boolean
expression over the runs table's columns, e.g. "final_burden_jpn > 0.03" or
"escalation == 'spiral' and us_demand >= 0.035". Writes, in --out (default DIR/discover-<outcome>):
  discover.json         the outcome, its base rate, the reported box (coverage, density, limits)
  trajectory.csv        PRIM's peeling trajectory: coverage, density, mass, restricted parameters
  box.csv               the reported box: per restricted parameter, its interval and swept range
  scores.csv            feature score per varied parameter (sums to 1)
  trajectory.png, box.png, scores.png
  metadata.json         the command, versions (EMA Workbench and scikit-learn included), code commit,
                        and the sweep's own provenance (experiment and code hashes, creation time)
Needs the 'discover' extra: pip install -e '.[discover]'."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("discover", help="scenario discovery on a sweep: PRIM boxes and feature scores",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", type=Path, metavar="DIR", help="result folder written by 'armsrace sweep'")
    p.add_argument("--outcome", required=True, metavar="CLASS|EXPR",
                   help="an escalation class (stable, buildup, spiral) or a boolean expression over the runs")
    p.add_argument("--threshold", type=float, default=0.8, metavar="D",
                   help="least density of the reported box, in (0, 1] (default: %(default)s)")
    p.add_argument("--seed", default="0", metavar="N", help="seed of the feature scores (default 0)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default: DIR/discover-<outcome>)")
    add_force(p)
    p.set_defaults(func=run)


def slug(outcome: str) -> str:
    """A folder-name form of the outcome: letters, digits, dots and dashes."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", outcome).strip("-")[:60] or "outcome"


def run(args: argparse.Namespace) -> int:
    import time

    from model.analysis.discover import discover
    from model.batch.store import load_results, metadata, staged_output, write_csv, write_json
    from model.charts.discover import plot_box, plot_scores, plot_trajectory
    from model.charts.style import save_figure
    from model.sim.params import check_seed

    t0 = time.perf_counter()
    seed = check_seed(args.seed, "--seed", text=True)
    res = load_results(args.dir)
    out = args.out or args.dir / f"discover-{slug(args.outcome)}"
    with staged_output(out, command="discover", force=args.force, expect=("discover.json",)) as stage:
        d = discover(res.runs, res.varied, args.outcome, args.threshold, seed)
        write_csv(d.trajectory.rename_axis("step"), stage / "trajectory.csv", index=True)
        write_csv(d.limits, stage / "box.csv", index=True)
        write_csv(d.scores.to_frame(), stage / "scores.csv", index=True)
        write_json({"result_dir": str(args.dir), "outcome": d.outcome, "n_runs": d.n_runs, "n_cases": d.n_cases,
                    "threshold": args.threshold, "box": d.chosen, "coverage": d.coverage, "density": d.density,
                    "limits": d.limits.reset_index().to_dict(orient="records"),
                    "scores": d.scores.to_dict(), "seed": seed}, stage / "discover.json")
        sweep = {k: res.manifest[k] for k in ("experiment_file", "experiment_hash", "code_hash", "data_hash", "code",
                                              "created_utc", "n_runs") if k in res.manifest}
        write_json(metadata(result_dir=str(args.dir), outcome=d.outcome, threshold=args.threshold, seed=seed,
                            sweep=sweep), stage / "metadata.json")
        for stem, plot in (("trajectory", plot_trajectory), ("box", plot_box), ("scores", plot_scores)):
            save_figure(plot(d), stage, stem, ("png",), dpi=120)
    print(d.describe())
    print(f"{time.perf_counter() - t0:.1f} s; wrote {out}/")
    return 0
