"""Timing of ``armsrace discover`` on a 20,000-run Latin hypercube sweep (issue target: under 10 s).

Writes the sweep once into a temporary folder, then times the whole command in a fresh
interpreter (imports of EMA Workbench included), against ``python -c "import numpy"`` measured in
the same run as the baseline of an interpreter start.

    .venv/bin/python benchmarks/bench_discover.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXPERIMENT = """\
[experiment]
description = "20k-run LHS sweep for the discover benchmark"
base = "baseline"
[fixed]
threat_noise = 0.05
budget_noise = 0.1
[parameters]
threat_scale = { low = 0.5, high = 32.0, distribution = "loguniform" }  # spirals need ~10x the estimate
hostility_scale = { low = 0.5, high = 1.5 }
us_demand = { low = 0.02, high = 0.05 }
alliance_credibility = { low = 0.2, high = 1.0 }
partnership = { low = 0.0, high = 1.0 }
counterattack_boost = { low = 0.0, high = 1.0 }
[design]
kind = "lhs"
samples = 20000
seed = 1
[replicates]
count = 1
root_seed = 7
[keep]
paths = false
"""


def timed(args: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        exp = Path(tmp) / "lhs20k.toml"
        exp.write_text(EXPERIMENT)
        out = Path(tmp) / "lhs20k"
        sweep = timed([sys.executable, "-m", "model.cli", "sweep", str(exp), "--out", str(out), "--quiet"])
        numpy = min(timed([sys.executable, "-c", "import numpy"]) for _ in range(3))
        runs = [timed([sys.executable, "-m", "model.cli", "discover", str(out), "--outcome", "spiral",
                       "--out", str(Path(tmp) / f"d{i}")]) for i in range(2)]
        best = min(runs)
    print(f"sweep of 20,000 runs (written):     {sweep:6.2f} s")
    print(f"python -c 'import numpy' (baseline): {numpy:6.2f} s")
    print(f"armsrace discover --outcome spiral:  {best:6.2f} s (best of 2)  = {best / 10:.2f} x the 10 s target, "
          f"{best / numpy:.0f} x the baseline")


if __name__ == "__main__":
    main()
