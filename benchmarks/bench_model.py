"""Time one Mesa run of the model (2024 -> 2040) and 1,000 runs in a loop.

Usage: python benchmarks/bench_model.py [--runs 1000]

Prints wall-clock figures and, as a same-process baseline, the bare dynamics kernel on the
same parameter set (one run through model.sim.dynamics.simulate without Mesa), with the ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from model.sim import dynamics
from model.sim.inputs import build_inputs, draw_run
from model.sim.model import ArmsRaceModel
from model.sim.params import Params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()
    params = Params.from_kwargs(us_demand=0.035, threat_noise=0.1)
    ArmsRaceModel(params=params, rng=0).run()  # warm caches (data files, imports)

    t0 = time.perf_counter()
    ArmsRaceModel(params=params, rng=1).run()
    one = time.perf_counter() - t0

    t0 = time.perf_counter()
    for seed in range(args.runs):
        ArmsRaceModel(params=params, rng=seed).run().agent_table()
    loop = time.perf_counter() - t0

    t0 = time.perf_counter()
    for seed in range(args.runs):
        draws = draw_run(np.random.default_rng(seed), params["until"] - params["start_year"], len(params.countries))
        dynamics.simulate(build_inputs(params, draws=draws), draws.noise)
    kernel = time.perf_counter() - t0

    print(f"one Mesa run 2024->2040 (7 agents, 16 steps):  {one * 1e3:8.1f} ms")
    print(f"{args.runs} Mesa runs in a loop (with agent table):   {loop:8.2f} s  ({args.runs / loop:,.0f} runs/s)")
    print(f"{args.runs} bare-kernel runs, one at a time:         {kernel:8.2f} s  ({args.runs / kernel:,.0f} runs/s)")
    print(f"Mesa loop / bare kernel:                       {loop / kernel:8.1f} x")


if __name__ == "__main__":
    main()
