"""Writing results: atomic output folders, tables in Parquet and CSV, and provenance metadata.

Every command that writes results stages them in a hidden sibling folder and moves them into
place only when everything has been written, so a failed or interrupted command leaves nothing
half-written in the output folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.errors import OutputError

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ea-armsrace", "mesa", "numpy", "pandas", "scipy", "matplotlib", "pyarrow", "SALib",
            "dask", "distributed", "solara")



def check_writable(folder: Path, option: str = "--out") -> None:
    """Raise OutputError (one line, naming the option and folder) unless ``folder`` can be written."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"The {option!r} folder {str(folder)!r} is a file.")
    probe = _first_existing(folder)
    if not probe.is_dir():
        raise OutputError(f"The {option!r} folder {str(folder)!r} cannot be created: "
                          f"{str(probe)!r} is not a folder.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"The {option!r} folder {str(folder)!r} is not writable.")


@contextlib.contextmanager
def staged_output(folder: Path, option: str = "--out") -> Iterator[Path]:
    """Yield a staging folder; on success move its files into ``folder`` (created if needed).

    Files already in ``folder`` with the same names are replaced; others are left alone. On any
    exception the staging folder is removed and ``folder`` is untouched.
    """
    folder = Path(folder)
    check_writable(folder, option)
    # A hidden sibling on the same filesystem (renames are atomic); inside the folder only when
    # its parent cannot be written.
    anchor = _first_existing(folder.absolute().parent)
    if not os.access(anchor, os.W_OK | os.X_OK):
        anchor = folder
    stage = Path(tempfile.mkdtemp(prefix=f".{folder.name}.staging-", dir=anchor))
    try:
        yield stage
        folder.mkdir(parents=True, exist_ok=True)
        for item in stage.iterdir():
            target = folder / item.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(item, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _first_existing(p: Path) -> Path:
    while not p.exists():
        p = p.parent
    return p


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary sibling and a rename: never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_table(df: pd.DataFrame, folder: Path, stem: str, csv: bool = True) -> list[Path]:
    """Write ``df`` as ``stem.parquet`` (and ``stem.csv``) in ``folder``; returns the paths."""
    paths = [folder / f"{stem}.parquet"]
    df.to_parquet(paths[0], index=False)
    if csv:
        paths.append(folder / f"{stem}.csv")
        df.to_csv(paths[1], index=False)
    return paths


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def code_version() -> dict[str, Any]:
    """Git commit of the code (and whether the work tree had changes), when run from a clone."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip() != ""
        return {"git_commit": commit, "git_dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def metadata(**fields: Any) -> dict[str, Any]:
    """Provenance record: the given fields plus versions, code version, time and command line."""
    return {
        **fields,
        "versions": versions(),
        "code": code_version(),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }


def write_json(obj: Any, path: Path) -> None:
    """Write ``obj`` as JSON; NaN and infinities become null (strict JSON)."""
    Path(path).write_text(json.dumps(_clean(obj), indent=2, default=_json_default, allow_nan=False) + "\n")


def _clean(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return _clean(o.tolist())
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, (float, np.floating)):
        return float(o) if np.isfinite(o) else None
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return o


def _json_default(o: Any) -> Any:
    """What _clean leaves for json: paths and sets."""
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, set):
        return sorted(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
