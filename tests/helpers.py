"""Shared helpers for the core-model tests (not fixtures: plain functions)."""

from __future__ import annotations

import os
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


def full_disk(monkeypatch, after: int = 0) -> list:
    """Make the disk 'full' for the result store: every file it opens for writing after the first ``after``
    ones fails to be written with ENOSPC (as ``write`` does on a full disk: the file exists, empty).

    Returns the list of paths the store opened, in order (for the test to say which write failed).
    """
    import errno
    import io

    from model.batch import store

    opened = []

    class FullFile(io.FileIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def open_for_writing(path):
        opened.append(Path(path))
        if len(opened) <= after:
            return open(path, "wb")
        return FullFile(path, "wb")

    monkeypatch.setattr(store, "open_for_writing", open_for_writing)
    return opened


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder`` (hidden ones too) by relative path: file contents, None for folders."""
    return {p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes())
            for p in sorted(Path(folder).rglob("*"))}


def package_copy(dest: Path) -> Path:
    """A copy of the package and its experiments in ``dest`` (a clone as another machine may hold it, with other
    files or code), run by :func:`armsrace_in`. Returns ``dest``."""
    import shutil

    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "model", dest / "model", ignore=ignore)
    shutil.copytree(REPO / "experiments", dest / "experiments", ignore=ignore)
    return dest


def armsrace_in(copy: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run the CLI of a :func:`package_copy` (its ``model`` package comes first on the path, not the repo's)."""
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run([sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, cwd=copy,
                          env=env, timeout=300, **kwargs)
