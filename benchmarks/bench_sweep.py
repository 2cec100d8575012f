"""Benchmark of the sweep engines (a script, not a test): ``.venv/bin/python benchmarks/bench_sweep.py``.

One experiment throughout: the escalation grid (US demand x Chinese threat sensitivity x alliance
credibility over the baseline scenario, small threat and budget noise, 2024-2040), at several sizes.
Prints, in one process:

1. runs/s of ``mesa.batch_run`` on ArmsRaceModel (parameters as kwargs, one process, no progress);
2. runs/s of ``armsrace sweep --engine mesa`` (one ArmsRaceModel per run, results written);
3. runs/s of the default fast engine with results written (``run_sweep``, in-process), with the
   shocks and without them (every run then shares one counterfactual run);
4. runs/s of the bare kernel: ``build_inputs`` + noise draws + the ``dynamics.step`` loop over the
   same chunks, nothing else (no outcomes, stability, tables or I/O);

then the ratios between them, the peak memory (max RSS of a fresh subprocess) of fast sweeps of
10k and 100k runs writing results, and 1 vs 2 Dask workers on a large sweep.

Targets (issue 3): fast >= 100x mesa.batch_run; fast >= 1/3 of the bare kernel; memory flat from
10k to 100k runs; 2 workers clearly faster than 1 on large sweeps.

Options: ``--quick`` (smaller sizes, for a smoke run), ``--keep DIR`` (write results there instead
of a temporary folder removed at the end).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

EXPERIMENT = """\
[experiment]
base = "baseline"
until = 2040
[fixed]
threat_noise = 0.05
budget_noise = 0.02
[parameters]
us_demand = {{ low = 0.02, high = 0.05, steps = {n_us} }}
threat_sensitivity_chn = {{ low = 0.0, high = 0.04, steps = {n_ts} }}
alliance_credibility = {{ low = 0.2, high = 1.0, steps = {n_ac} }}
[replicates]
count = {reps}
root_seed = 1
"""


def experiment(folder: Path, name: str, n_us: int, n_ts: int, n_ac: int, reps: int, noise: bool = True) -> Path:
    """Write an escalation-grid experiment of n_us * n_ts * n_ac * reps runs (``noise``: with the yearly shocks)."""
    path = folder / f"{name}.toml"
    text = EXPERIMENT.format(n_us=n_us, n_ts=n_ts, n_ac=n_ac, reps=reps)
    path.write_text(text if noise else text.replace("threat_noise = 0.05", "threat_noise = 0.0")
                    .replace("budget_noise = 0.02", "budget_noise = 0.0"))
    return path


def sized(folder: Path, name: str, n_runs: int, noise: bool = True) -> Path:
    """An experiment of exactly ``n_runs`` runs: k demand levels x 10 sensitivities x 5 credibilities x 8."""
    per = n_runs // (10 * 5 * 8)
    assert per * 10 * 5 * 8 == n_runs, n_runs
    return experiment(folder, name, per, 10, 5, 8, noise)


def bench_batch_run(n_us: int, n_ts: int, n_ac: int, reps: int) -> tuple[int, float]:
    """mesa.batch_run over the same grid: (runs, seconds)."""
    import mesa

    from model.sim.model import ArmsRaceModel

    params = {"us_demand": list(np.linspace(0.02, 0.05, n_us)),
              "threat_sensitivity_chn": list(np.linspace(0.0, 0.04, n_ts)),
              "alliance_credibility": list(np.linspace(0.2, 1.0, n_ac)),
              "threat_noise": 0.05, "budget_noise": 0.02}
    t = time.perf_counter()
    out = mesa.batch_run(ArmsRaceModel, parameters=params, number_processes=1, rng=list(range(reps)),
                         data_collection_period=-1, max_steps=100, display_progress=False)
    dt = time.perf_counter() - t
    n = n_us * n_ts * n_ac * reps
    assert len({r["RunId"] for r in out}) == n
    return n, dt


def bench_sweep(path: Path, out: Path, engine: str = "fast", workers: int | None = None) -> tuple[int, float]:
    from model.batch.store import read_manifest
    from model.batch.sweep import run_sweep

    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    run_sweep(path, out, engine=engine, workers=workers, progress=False)
    dt = time.perf_counter() - t
    return read_manifest(out)["n_runs"], dt


def bench_kernel(path: Path) -> tuple[int, float]:
    """build_inputs + draws + dynamics.simulate over the sweep's chunks, nothing else."""
    from model.batch.experiments import load_experiment
    from model.batch.sweep import default_chunk_size
    from model.sim import dynamics
    from model.sim.inputs import build_inputs, draw_runs

    exp = load_experiment(path)
    size = default_chunk_size(exp.n_runs, None)
    points = exp.points
    chunks = []
    for start in range(0, exp.n_runs, size):
        run, point, rep = exp.run_index(start, min(start + size, exp.n_runs))
        chunks.append(({c: points[c].to_numpy()[point] for c in points.columns}, exp.seeds(run, rep)))
    t = time.perf_counter()
    for varied, seeds in chunks:
        draws = draw_runs(seeds, exp.base["until"] - exp.base["start_year"], len(exp.base.countries))
        dynamics.simulate(build_inputs(exp.base, varied, draws), draws.noise)
    return exp.n_runs, time.perf_counter() - t


MEMORY_SNIPPET = """
import resource, sys, time
from model.batch.sweep import run_sweep
t = time.perf_counter()
run_sweep(sys.argv[1], sys.argv[2], progress=False)
dt = time.perf_counter() - t
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, dt)
"""


def bench_memory(path: Path, out: Path) -> tuple[float, float, float]:
    """Peak RSS (MiB), seconds and disk size (MiB) of a fast sweep in a fresh process."""
    shutil.rmtree(out, ignore_errors=True)
    res = subprocess.run([PYTHON, "-c", MEMORY_SNIPPET, str(path), str(out)], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    rss_kib, dt = res.stdout.split()
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
    shutil.rmtree(out, ignore_errors=True)
    return int(rss_kib) / 1024, float(dt), size


def rate(n: int, dt: float) -> float:
    return n / dt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument("--keep", type=Path, default=None, help="write results here (default: a temp folder)")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    work.mkdir(parents=True, exist_ok=True)
    quick = args.quick
    print(f"python {sys.version.split()[0]}, {json.dumps(_versions())}")
    print(f"machine: {_cpus()} CPUs visible; results in {work}")
    try:
        # Mesa-based engines: a few hundred runs of the grid (5 x 4 x 5 points x 4 replicates = 400).
        small = (5, 4, 5, 2 if quick else 4)
        small_path = experiment(work, "small", *small)
        n_b, t_b = bench_batch_run(*small)
        print(f"mesa.batch_run           {n_b:>7} runs {t_b:8.2f} s {rate(n_b, t_b):>10.0f} runs/s")
        n_m, t_m = bench_sweep(small_path, work / "out-mesa", engine="mesa")
        print(f"sweep --engine mesa      {n_m:>7} runs {t_m:8.2f} s {rate(n_m, t_m):>10.0f} runs/s")
        # Fast engine and kernel: the same grid, larger.
        big_runs = 4_000 if quick else 20_000
        big_path = sized(work, "big", big_runs)
        bench_sweep(small_path, work / "warmup")          # imports, caches
        n_f, t_f = bench_sweep(big_path, work / "out-fast")
        print(f"sweep --engine fast      {n_f:>7} runs {t_f:8.2f} s {rate(n_f, t_f):>10.0f} runs/s"
              "  (results written)")
        n_q, t_q = bench_sweep(sized(work, "big-quiet", big_runs, noise=False), work / "out-fast-quiet")
        print(f"sweep --engine fast      {n_q:>7} runs {t_q:8.2f} s {rate(n_q, t_q):>10.0f} runs/s"
              f"  (no shocks: one shared counterfactual; {rate(n_q, t_q) / rate(n_f, t_f):.2f}x with shocks)")
        n_k, t_k = bench_kernel(big_path)
        print(f"bare kernel              {n_k:>7} runs {t_k:8.2f} s {rate(n_k, t_k):>10.0f} runs/s"
              "  (no outcomes, no I/O)")
        r_fb = rate(n_f, t_f) / rate(n_b, t_b)
        r_fm = rate(n_f, t_f) / rate(n_m, t_m)
        r_fk = rate(n_f, t_f) / rate(n_k, t_k)
        r_mb = rate(n_m, t_m) / rate(n_b, t_b)
        print(f"ratios: fast/batch_run {r_fb:.0f}x, fast/mesa-engine {r_fm:.0f}x, mesa-engine/batch_run "
              f"{r_mb:.2f}x, fast/kernel {r_fk:.2f}")
        print(f"  target fast >= 100x batch_run: {'PASS' if r_fb >= 100 else 'FAIL'}; "
              f"fast >= 1/3 kernel: {'PASS' if r_fk >= 1 / 3 else 'FAIL'}")

        # Memory: peak RSS of a fresh process sweeping 10k vs 100k runs (all paths written).
        mem = {}
        for n in ((2_000, 10_000) if quick else (10_000, 100_000)):
            path = sized(work, f"mem{n}", n)
            rss, dt, disk = bench_memory(path, work / f"out-mem{n}")
            mem[n] = rss
            print(f"peak RSS {n:>7} runs: {rss:7.0f} MiB  ({dt:.1f} s, {rate(n, dt):.0f} runs/s, "
                  f"{disk:.0f} MiB written)")
        lo, hi = mem.values()
        print(f"  target memory flat: {hi / lo:.2f}x for {max(mem) // min(mem)}x the runs: "
              f"{'PASS' if hi <= 1.25 * lo else 'FAIL'}")

        # Workers: the same large sweep on 1 and 2 local Dask workers (cluster start-up included).
        large_runs = 8_000 if quick else 60_000
        large = sized(work, "large", large_runs)
        times = {}
        for w in (None, 1, 2):
            n, dt = bench_sweep(large, work / f"out-w{w}", workers=w)
            times[w] = dt
            label = "in-process" if w is None else f"{w} worker{'s' if w > 1 else ''}"
            print(f"{label:<13} {n:>7} runs {dt:8.2f} s {rate(n, dt):>10.0f} runs/s")
        print(f"  target 2 workers clearly faster than 1: {times[1] / times[2]:.2f}x "
              f"{'PASS' if times[1] / times[2] >= 1.3 else 'FAIL'}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    return {p: md.version(p) for p in ("mesa", "numpy", "pyarrow", "dask")}


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    sys.exit(main())
