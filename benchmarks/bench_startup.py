"""Benchmark of start-up (a script, not a test): ``.venv/bin/python benchmarks/bench_startup.py``.

Every command pays for the interpreter and the libraries it imports before it does anything. This
script times, in fresh processes of the same interpreter, each one several times (median):

* the baselines: ``python -c "import numpy"`` and ``python -c "import numpy, pandas"``;
* ``armsrace --help``, ``--version``, ``params`` and ``scenarios``, against the first baseline
  (target, issue 11: at most 4x);
* the main job, ``armsrace sweep experiments/escalation.toml --out DIR`` (1,440 runs written), against
  the second baseline (target: at most 3x);

then prints the ratios and what remains: the heaviest top-level imports of ``params`` and of the
sweep, from ``python -X importtime`` (cumulative milliseconds).

``armsrace`` is the console script beside this interpreter (``.venv/bin/armsrace``), or
``python -m model.cli`` where there is none. Options: ``--repeat N`` (default 7), ``--top N`` imports
shown (default 12).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
EXPERIMENT = ROOT / "experiments" / "escalation.toml"
LIGHT_TARGET = 4.0
SWEEP_TARGET = 3.0


def armsrace() -> list[str]:
    script = Path(PYTHON).with_name("armsrace")
    return [str(script)] if script.is_file() else [PYTHON, "-m", "model.cli"]


def timed(cmd: list[str], repeat: int, before=None) -> float:
    """Median wall time (s) of ``cmd`` in a fresh process; ``before()`` runs before each (not timed)."""
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def heaviest_imports(cmd: list[str], top: int) -> list[tuple[float, str]]:
    """``(cumulative ms, module)`` of the top-level imports of ``cmd`` (``-X importtime``), heaviest first."""
    r = subprocess.run([PYTHON, "-X", "importtime", *cmd], cwd=ROOT, capture_output=True, text=True, check=True)
    rows = []
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        if len(name) - len(name.lstrip()) <= 1:  # imported by the command itself, not by another import
            rows.append((int(cumulative) / 1000, name.strip()))
    return sorted(rows, reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="runs per command (median; default 7)")
    ap.add_argument("--top", type=int, default=12, help="heaviest imports shown (default 12)")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    out = work / "escalation"
    try:
        numpy = timed([PYTHON, "-c", "import numpy"], args.repeat)
        numpy_pandas = timed([PYTHON, "-c", "import numpy, pandas"], args.repeat)
        cli = armsrace()
        print(f"Start-up, median of {args.repeat} fresh processes ({' '.join(Path(c).name for c in cli)}; "
              f"Python {sys.version.split()[0]})")
        print(f"  {'python -c \"import numpy\"':<42}{numpy * 1000:8.0f} ms   baseline A")
        print(f"  {'python -c \"import numpy, pandas\"':<42}{numpy_pandas * 1000:8.0f} ms   baseline B")
        worst = 0.0
        for argv_ in (["--help"], ["--version"], ["params"], ["scenarios"]):
            t = timed([*cli, *argv_], args.repeat)
            worst = max(worst, t / numpy)
            print(f"  {'armsrace ' + ' '.join(argv_):<42}{t * 1000:8.0f} ms   {t / numpy:5.2f} x A")
        sweep = timed([*cli, "sweep", str(EXPERIMENT), "--out", str(out), "--quiet"], args.repeat,
                      before=lambda: shutil.rmtree(out, ignore_errors=True))
        label = "armsrace sweep experiments/escalation.toml"
        print(f"  {label:<42}{sweep * 1000:8.0f} ms   {sweep / numpy_pandas:5.2f} x B")
        print(f"Ratios: light commands at most {worst:.2f} x A (target {LIGHT_TARGET:g}), the sweep "
              f"{sweep / numpy_pandas:.2f} x B (target {SWEEP_TARGET:g}): "
              f"{'both met' if worst <= LIGHT_TARGET and sweep / numpy_pandas <= SWEEP_TARGET else 'NOT MET'}.")

        for label, cmd in (("armsrace params", ["-m", "model.cli", "params"]),
                           ("armsrace sweep", ["-m", "model.cli", "sweep", str(EXPERIMENT), "--out", str(out),
                                               "--quiet"])):
            shutil.rmtree(out, ignore_errors=True)
            print(f"What remains in '{label}' (python -X importtime, cumulative, top level):")
            for ms, name in heaviest_imports(cmd, args.top):
                print(f"  {ms:8.1f} ms  {name}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
