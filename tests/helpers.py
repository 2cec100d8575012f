"""Shared helpers for the core-model tests (not fixtures: plain functions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from model.sim import dynamics
from model.sim.inputs import build_inputs, draw_noise
from model.sim.params import Params

REPO = Path(__file__).resolve().parent.parent


def simulate(base: Params, varied: dict | None = None, seeds=None) -> dict[str, np.ndarray]:
    """Run the dynamics over whole arrays; returns each State field as (..., years, N)."""
    x = build_inputs(base, varied)
    s = x.start_state()
    noise = None
    if seeds is not None:
        noise = np.stack([draw_noise(np.random.default_rng(sd), x.until - x.start_year, len(x.countries))
                          for sd in np.atleast_1d(seeds)])
        if not x.batch_shape:
            noise = noise[0]
    states = [s]
    for k, year in enumerate(x.years):
        s = dynamics.step(s, x, year, None if noise is None else noise[..., k, :, :])
        states.append(s)
    return {f: np.stack([getattr(st, f) for st in states], axis=-2) for f in dynamics.State._fields}


def armsrace(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh interpreter, as a user would."""
    return subprocess.run([sys.executable, "-m", "model.cli", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=300)
