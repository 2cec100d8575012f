"""``armsrace sweep``: every run of an experiment file, chunked, streamed to disk, resumable."""

from __future__ import annotations

import argparse
from pathlib import Path

ORDER = 40
DEFAULT_TIMEOUT = 30.0
""":data:`model.batch.sweep.DEFAULT_TIMEOUT`, repeated so that ``--help`` needs no numpy (tests/test_layers.py
checks that the two agree)."""

HELP = """\
Run every run of an experiment file (experiments/*.toml: base scenario, varied parameters,
design, replicates and seeds, horizon) and write, in --out (default results/<file stem>):
  manifest.json                experiment (parsed) and its sha256, design, seeds, chunks done, versions
  runs/chunk-NNNNN.parquet     one row per run: run, design_point, replicate, seed, varied parameters,
                               outcomes (escalation class, crossing years, peaks, ...), stability_radius
  agents/chunk-NNNNN.parquet   one row per run, year and country: burden (share of GDP), spending,
                               gdp, capability (US$ bn), threat, pressure, backlash

Runs are computed in chunks in this process by default; --workers N starts a local Dask cluster
of N processes (at most the machine's cores unless --force), --scheduler uses an existing one.
Results are identical whatever the engine, workers or scheduler. Waits on a cluster are bounded by
--timeout: a scheduler that does not answer as one, no worker, or all workers lost end the sweep with
one line. A sweep interrupted (Ctrl-C: exit status 130), stopped by a full disk or killed finishes
with --resume, which refuses if the experiment, the model's code or data, or the folder changed.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run an experiment file (grid, Latin hypercube or Sobol sweep)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path, metavar="FILE", help="experiment file, e.g. experiments/escalation.toml")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="result folder (default: results/<FILE stem>)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="run on a local Dask cluster of N worker processes (default: in this process; at most "
                        "the machine's cores unless --force)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (see README: TLS)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help="how long to wait on a Dask cluster: for the scheduler to answer, for a first worker, "
                        "and for a worker after all were lost (default: %(default)g)")
    p.add_argument("--force", action="store_true", help="allow more --workers than this machine has cores")
    p.add_argument("--resume", action="store_true",
                   help="finish the sweep in --out (refused if the experiment file, the base "
                        "parameters, the design points or the model data changed)")
    p.add_argument("--engine", choices=("fast", "mesa"), default="fast",
                   help="fast: all runs of a chunk as arrays (default); mesa: one ArmsRaceModel per run "
                        "(slow reference, identical results)")
    p.add_argument("--chunk-size", type=int, default=None, metavar="K",
                   help="runs per chunk/task (default: about 8 chunks per worker, 100-1000 runs)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from model.batch.store import read_manifest, read_runs
    from model.batch.sweep import run_sweep

    out = run_sweep(args.file, out=args.out, workers=args.workers, scheduler=args.scheduler,
                    resume=args.resume, engine=args.engine, chunk_size=args.chunk_size,
                    progress=not args.quiet, timeout=args.timeout, force=args.force)
    manifest = read_manifest(out)
    runs = read_runs(out)
    shares = runs["escalation"].value_counts(normalize=True)
    classes = ", ".join(f"{name} {shares.get(name, 0.0):.0%}" for name in ("stable", "buildup", "spiral"))
    design = manifest["design"]
    print(f"{Path(args.file).stem}: {manifest['n_runs']} runs ({design['n_points']} {design['kind']} "
          f"points x {manifest['replicates']} replicates); {classes}; wrote {out}/")
    return 0
