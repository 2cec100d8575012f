"""Shared helpers for the core-model tests (not fixtures: plain functions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from model.sim import dynamics
from model.sim.inputs import RunDraws, build_inputs, draw_runs
from model.sim.params import Params

REPO = Path(__file__).resolve().parent.parent


def simulate(base: Params, varied: dict | None = None, seeds=None) -> dict[str, np.ndarray]:
    """Run the dynamics over whole arrays (the one loop, dynamics.simulate); each State field as (..., years, N)."""
    draws = None
    if seeds is not None:
        draws = draw_runs(np.atleast_1d(seeds), base["until"] - base["start_year"], len(base.countries))
        if np.ndim(seeds) == 0:
            draws = RunDraws(*(a[0] for a in draws))
    x = build_inputs(base, varied, draws)
    return dynamics.simulate(x, None if draws is None else draws.noise)


def armsrace(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh interpreter, as a user would."""
    return subprocess.run([sys.executable, "-m", "model.cli", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=300)
