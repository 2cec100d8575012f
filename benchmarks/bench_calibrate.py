"""Timing of the estimation and of the rolling backtest (issue targets: <= 30 s and <= 60 s on two cores).

Prints the wall-clock of ``armsrace calibrate`` (the panel regression with its covariance, through
the library call) and of the rolling backtest at origins 2005-2016 (12 estimations and 12 scenario
runs), each against its target and against one deterministic baseline scenario run measured in
the same process (the unit of work they repeat).

    .venv/bin/python benchmarks/bench_calibrate.py
"""

from __future__ import annotations

import time


def main() -> None:
    t0 = time.perf_counter()
    from model.analysis import backtest as bt
    from model.analysis.calibrate import calibrate
    from model.sim.model import ArmsRaceModel
    from model.sim.scenarios import load_scenario

    imports = time.perf_counter() - t0
    params = load_scenario("baseline").params
    ArmsRaceModel(params=params, rng=0).run()  # warm the data caches
    t = time.perf_counter()
    ArmsRaceModel(params=params, rng=0).run()
    one_run = time.perf_counter() - t

    t = time.perf_counter()
    cal = calibrate()
    estimate = time.perf_counter() - t
    t = time.perf_counter()
    rolling = bt.rolling()
    roll = time.perf_counter() - t

    overall = rolling.summary.set_index(["origin", "variable"])
    print(f"imports:                          {imports:7.2f} s")
    print(f"one baseline scenario run (Mesa): {one_run * 1e3:7.1f} ms")
    print(f"calibrate ({cal.estimate.nobs} obs, DK covariance): {estimate:7.2f} s  = "
          f"{estimate / 30:.3f} x the 30 s target, "
          f"{estimate / one_run:,.0f} x one run")
    print(f"rolling backtest (12 origins):    {roll:7.2f} s  = {roll / 60:.3f} x the 60 s target, "
          f"{roll / one_run:,.0f} x one run")
    print(f"burden ratio to last value, all origins: {overall.loc[('all', 'burden'), 'geo_ratio']:.2f}")


if __name__ == "__main__":
    main()
