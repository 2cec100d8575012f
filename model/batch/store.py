"""The one owner of result folders: writing them (atomically), reading them, and the sweep lock.

Every command that writes results goes through this module, and no other module reads or writes
the files of a result folder directly; what a folder holds is therefore defined here once.

Writing
    :func:`staged_output` stages a whole output folder in a hidden sibling and moves it into place
    only when everything has been written, so a failed or interrupted command leaves nothing
    half-written. :func:`atomic_write` writes one file under a temporary name and renames it into
    place (``os.replace``); the sweep's chunks and manifest and the calibrated scenario file are
    written that way. :func:`write_table`, :func:`write_csv`, :func:`write_text` and
    :func:`write_json` write the files of a (staged) folder; :func:`metadata` is the provenance
    record every folder carries.

Sweep result folders (the contract that charts, comparisons and the browser view read)::

    DIR/manifest.json              experiment_file, experiment_hash, params_hash, design_hash, code_hash,
                                   data_hash, experiment (parsed, validated), base_scenario, design {kind,
                                   varied, n_points, and for sobol problem, n, calc_second_order},
                                   replicates, n_runs, chunk_size, seeds {root | list}, engine, versions,
                                   code, created_utc, chunks {"00000": {"runs": [start, stop], "done": bool,
                                   and once done "sha256": {"runs": ..., "agents": ...}}}
    DIR/runs/chunk-00000.parquet   one row per run: run, design_point, replicate, seed, the varied
                                   parameters, every outcome of model.sim.outcomes.summarise, stability_radius
    DIR/agents/chunk-00000.parquet per run, year and country: run, year, country and the kept
                                   variables (only when the experiment keeps paths)
    DIR/.lock                      held by the sweep writing to DIR (a filelock), naming it: pid, host,
                                   start time, command; removed when that sweep ends

Only the chunks the manifest marks done are ever read (:func:`done_chunk_files`): a chunk file not
marked done (a sweep killed between renaming it into place and marking it) is recomputed on resume.
A chunk's files are synced to disk before the manifest marks it done with their sha256; a resume
checks the manifest's shape (:func:`check_manifest`) and every done chunk's files against those
hashes (:func:`check_done_chunks`) before it writes anything.
Files ending in ``.tmp`` are half-written temporaries and never results. :func:`load_results` reads
a folder into :class:`Results` (manifest and runs; agent rows on demand).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from model.errors import LockedError, OutputError, ParameterError, ResumeError, WriteError

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ea-armsrace", "mesa", "numpy", "pandas", "scipy", "linearmodels", "matplotlib", "pyarrow", "SALib",
            "dask", "distributed", "solara", "ema_workbench", "scikit-learn")

MANIFEST = "manifest.json"
LOCK = ".lock"
"""Lock file of a sweep result folder, held by the sweep writing to it (:func:`sweep_lock`)."""
TMP_SUFFIX = ".tmp"
"""Suffix of files being written (:func:`atomic_write`); such files are never results."""
CHUNK_DIRS = ("runs", "agents")
ID_COLUMNS = ("run", "design_point", "replicate", "seed")
DERIVED = {"spiral_share": ("spiral",), "escalating_share": ("buildup", "spiral")}
"""Derived per-run indicators (1 if the run's class is in the tuple), shown as shares of runs."""


# --- writing -------------------------------------------------------------------------------------

OUTPUTS = ".armsrace-outputs.json"
"""The record :func:`staged_output` keeps in every folder a command wrote: per file (relative path), the
command that wrote it, its sha256 and the time. It is how a command recognises its own earlier outputs:
a file is one if the record names it, with this command, and its content still has the recorded sha256.
``--force`` replaces those; anything else in the way (a user's file or folder, a file changed since it
was written, a symbolic link) is never replaced."""


def open_for_writing(path: Path) -> BinaryIO:
    """Open a file of a result folder for writing (binary). Every file the store writes is opened here,
    which makes it the place where a full disk shows up (and where tests put one)."""
    return open(path, "wb")


@contextlib.contextmanager
def _writing(path: Path, sync: bool = False) -> Iterator[BinaryIO]:
    """``path`` opened for writing; an OSError while opening, writing, syncing or closing it becomes a
    one-line :class:`~model.errors.WriteError` naming the file and the system's reason."""
    try:
        with open_for_writing(path) as fh:
            yield fh
            if sync:  # on the disk before it is renamed into place, and before a manifest says so
                fh.flush()
                os.fsync(fh.fileno())
    except OSError as exc:
        raise WriteError(path, _reason(exc)) from None


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; Windows cannot open folders, and needs no such step)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the file itself was synced
    finally:
        os.close(fd)


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
def staged_output(folder: Path, option: str = "--out", command: str = "armsrace", force: bool = False,
                  expect: Sequence[str] = ()) -> Iterator[Path]:
    """Yield a staging folder; on success move its files into ``folder`` (created if needed).

    Nothing the command did not write is ever replaced or deleted: files of other names are left
    alone, and a path the command writes that already exists is refused (one line naming it) unless
    ``force`` is given and it is this command's own earlier output (see :data:`OUTPUTS`); with ``force``,
    the command's own earlier files that this run does not write again (unchanged since) are removed,
    so that the folder holds one run's outputs. Folders in the stage are merged into existing folders
    file by file. The check runs on entry for ``expect``
    (names the command always writes, for an early refusal) and for every file before anything is
    moved. On any exception the staging folder is removed and ``folder`` is untouched.

    Args:
        folder: the output folder.
        option: the option that named it, for messages.
        command: the subcommand writing (``run``, ``plot``, ...), recorded in :data:`OUTPUTS`.
        force: replace this command's own earlier outputs.
        expect: relative paths the command will certainly write.

    Raises:
        OutputError: ``folder`` cannot be created or written (a full disk names the file: nothing is
            written), or a path in the way is not the command's own (or ``force`` is not given).
    """
    folder = Path(folder)
    check_writable(folder, option)
    _refuse_conflicts(folder, [Path(e) for e in expect], option, command, force)
    # A hidden sibling on the same filesystem (renames are atomic); inside the folder only when
    # its parent cannot be written.
    anchor = _first_existing(folder.absolute().parent)
    if not os.access(anchor, os.W_OK | os.X_OK):
        anchor = folder
    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{folder.name}.staging-", dir=anchor))
    except OSError as exc:
        raise OutputError(f"The {option!r} folder {str(folder)!r} cannot be created: {_reason(exc)}.") from None
    try:
        try:
            yield stage
        except WriteError as exc:
            raise OutputError(f"{_staged_name(exc.path, stage, folder)} cannot be written: {exc.reason}; nothing "
                              f"was written to {str(folder)!r}.") from None
        except OSError as exc:  # a file of the stage written by other means (a library writing itself)
            if exc.errno not in DISK_FULL and not _inside(exc.filename, stage):
                raise
            raise OutputError(f"The {option!r} folder {str(folder)!r} cannot be written: {_reason(exc)}; nothing "
                              f"was written.") from None
        _commit(stage, folder, option, command, force)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


DISK_FULL = tuple(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if e is not None)


def _inside(name: Any, folder: Path) -> bool:
    try:
        return name is not None and Path(os.fsdecode(name)).resolve().is_relative_to(folder.resolve())
    except (TypeError, ValueError, OSError):
        return False


def _staged_name(path: str, stage: Path, folder: Path) -> str:
    """``The file '<folder>/<name>'`` for a file of the stage: messages name where it was going."""
    try:
        rel = Path(path).resolve().relative_to(stage.resolve())
    except ValueError:
        return f"The file {path!r}"
    return f"The file {str(folder / rel)!r}"


def _commit(stage: Path, folder: Path, option: str, command: str, force: bool) -> None:
    """Move the stage's files into ``folder`` (refusing conflicts first) and record them in :data:`OUTPUTS`."""
    files = sorted(p.relative_to(stage) for p in stage.rglob("*") if p.is_file() and not p.is_symlink())
    _refuse_conflicts(folder, files, option, command, force)
    hashes = {rel.as_posix(): file_hash(stage / rel) for rel in files}
    record = read_outputs(folder) or {}
    make_folder(folder, option)
    try:
        for rel in files:
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / rel, folder / rel)
    except OSError as exc:
        raise OutputError(f"The {option!r} folder {str(folder)!r} cannot be written: {_reason(exc)}.") from None
    if force:  # the command's own earlier files that this run no longer writes (a figure dropped, a format)
        for rel in sorted(set(record) - set(hashes)):
            target = folder / rel
            if record[rel].get("command") != command:
                continue
            if _is_own(target, Path(rel), record, command):
                with contextlib.suppress(OSError):
                    target.unlink()
            if not target.exists():
                del record[rel]
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    record.update({rel: {"command": command, "sha256": sha, "written_utc": now} for rel, sha in hashes.items()})
    try:
        atomic_write(folder / OUTPUTS, _json_bytes({"about": "files written here by armsrace commands (--force "
                                                            "replaces only these, unchanged)", "files": record}))
    except WriteError as exc:
        raise OutputError(f"The {option!r} folder {str(folder)!r} was written but its record {OUTPUTS!r} was not: "
                          f"{exc.reason}; the files are complete, but --force will not replace them.") from None


def read_outputs(folder: Path) -> dict[str, dict[str, Any]] | None:
    """The record of the files commands wrote in ``folder`` ({} if there is none; None if a file of that
    name is there but is not such a record: then it is someone else's and is never replaced)."""
    path = Path(folder) / OUTPUTS
    if not path.exists() and not path.is_symlink():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8")) if path.is_file() and not path.is_symlink() else None
    except (OSError, ValueError):
        return None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, dict) for v in files.values()):
        return None
    return files


def _is_own(target: Path, rel: Path, record: dict[str, dict[str, Any]], command: str) -> bool:
    entry = record.get(rel.as_posix())
    return (entry is not None and entry.get("command") == command and target.is_file()
            and not target.is_symlink() and file_hash(target) == entry.get("sha256"))


def _refuse_conflicts(folder: Path, files: Sequence[Path], option: str, command: str, force: bool) -> None:
    """Raise OutputError naming the first path in ``folder`` that writing ``files`` would replace and that
    may not be replaced: anything not this command's own earlier output, or (without ``force``) anything."""
    if not folder.is_dir():
        return
    record = read_outputs(folder)
    foreign, own = [], []
    if record is None:
        foreign.append(folder / OUTPUTS)
        record = {}
    for rel in files:
        p = folder
        for part in rel.parts[:-1]:  # a folder on the way that is a file or a link
            p = p / part
            if p.is_symlink() or (p.exists() and not p.is_dir()):
                foreign.append(p)
                break
        else:
            target = folder / rel
            if target.exists() or target.is_symlink():
                if _is_own(target, rel, record, command):
                    if not force:
                        own.append(target)
                else:
                    foreign.append(target)
    name = f"'armsrace {command}'"
    if foreign:
        first = foreign[0]
        more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
        why = _not_own_reason(first, folder, record, command)
        raise OutputError(f"The {option!r} folder {str(folder)!r} already holds {str(first)!r}{more}, which {why}; "
                          f"armsrace never replaces it (not even with --force): move it away, or choose "
                          f"another {option}.")
    if own:
        more = f" (and {len(own) - 1} more)" if len(own) > 1 else ""
        raise OutputError(f"The {option!r} folder {str(folder)!r} already holds {str(own[0])!r}{more}, written by "
                          f"an earlier {name}; add --force to replace its outputs, or choose another {option}.")


def _not_own_reason(path: Path, folder: Path, record: dict[str, dict[str, Any]], command: str) -> str:
    """Why ``path`` is not the command's own output, for the refusal."""
    name = f"'armsrace {command}'"
    entry = record.get(path.relative_to(folder).as_posix()) if path.is_relative_to(folder) else None
    if entry is None or path.is_symlink() or not path.is_file():
        return f"was not written by {name}"
    if entry.get("command") != command:
        return f"was written by 'armsrace {entry.get('command')}', not by {name}"
    return f"has changed since {name} wrote it"


def _first_existing(p: Path) -> Path:
    while not p.exists():
        p = p.parent
    return p


def _reason(exc: OSError) -> str:
    """The system's words for an OSError (``No space left on device``), for one-line messages."""
    return exc.strerror or str(exc) or type(exc).__name__


def make_folder(folder: Path, option: str = "--out") -> Path:
    """Create ``folder`` (and its parents) or raise OutputError naming it: a writability check can pass
    where creating fails (``/proc`` as root, a full disk, a read-only mount)."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"The {option!r} folder {str(folder)!r} cannot be created: {_reason(exc)}.") from None
    return Path(folder)


def atomic_write(path: Path, data: bytes | str | Callable[[BinaryIO], None]) -> Path:
    """Write ``data`` to ``path`` under a temporary name in the same folder, synced, then rename it into place.

    A reader (or a process killed mid-way, or a machine that loses power) sees the old file or the new
    one, never a part of it. The temporary file is ``.<name>.<pid>.tmp`` (see :data:`TMP_SUFFIX`); it is
    removed on failure.

    Args:
        path: the file to write; its folder is created if needed.
        data: bytes, text (UTF-8), or a function that writes into the binary file it is given.

    Raises:
        WriteError: the file cannot be written (a full disk, ...); nothing is left behind.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(path, _reason(exc)) from None
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    try:
        try:
            with _writing(tmp, sync=True) as fh:
                if isinstance(data, bytes):
                    fh.write(data)
                elif isinstance(data, str):
                    fh.write(data.encode("utf-8"))
                else:
                    data(fh)
        except WriteError as exc:
            raise WriteError(path, exc.reason) from None
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise WriteError(path, _reason(exc)) from None
        _fsync_folder(path.parent)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return path


def subfolder(folder: Path, name: str) -> Path:
    """``folder/name``, created if needed (e.g. the figures folder of a staged report)."""
    path = Path(folder) / name
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(path, _reason(exc)) from None
    return path


def write_table(df: pd.DataFrame, folder: Path, stem: str, csv: bool = True) -> list[Path]:
    """Write ``df`` as ``stem.parquet`` (and ``stem.csv``) in ``folder``; returns the paths."""
    paths = [Path(folder) / f"{stem}.parquet"]
    with _writing(paths[0]) as fh:
        df.to_parquet(fh, index=False)
    if csv:
        paths.append(write_csv(df, Path(folder) / f"{stem}.csv"))
    return paths


def write_csv(df: pd.DataFrame, path: Path, index: bool = False) -> Path:
    """Write ``df`` as CSV (the row index only when ``index``)."""
    with _writing(Path(path)) as fh:
        df.to_csv(fh, index=index, mode="wb", encoding="utf-8")
    return Path(path)


def write_text(text: str, path: Path) -> Path:
    """Write a text file (Markdown, TOML) of an output folder, as UTF-8."""
    with _writing(Path(path)) as fh:
        fh.write(text.encode("utf-8"))
    return Path(path)


def write_json(obj: Any, path: Path) -> None:
    """Write ``obj`` as JSON; NaN and infinities become null (strict JSON)."""
    with _writing(Path(path)) as fh:
        fh.write(_json_bytes(obj))


def write_figure(fig: Any, path: Path, dpi: float | None = None) -> Path:
    """Write a Matplotlib figure in the format of ``path``'s suffix (png, svg, pdf)."""
    path = Path(path)
    with _writing(path) as fh:
        fig.savefig(fh, format=path.suffix.lstrip("."), dpi=dpi)
    return path


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(_clean(obj), indent=2, default=_json_default, allow_nan=False) + "\n").encode("utf-8")


def read_json(path: Path) -> Any:
    """A JSON file of a result folder.

    Raises:
        OutputError: the file is missing or not valid JSON (one line naming it).
    """
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise OutputError(f"The file {str(path)!r} cannot be read: {exc}.") from None


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


# --- provenance ----------------------------------------------------------------------------------

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


# --- sweep folders: writing ----------------------------------------------------------------------

LOCK_WAIT = 0.5
"""Seconds a sweep tries to take a folder's lock before it refuses (a lock just being released is taken)."""


@contextlib.contextmanager
def sweep_lock(out: Path) -> Iterator[None]:
    """Hold the lock of a sweep result folder, ``out/.lock``, or refuse at once if another sweep has it.

    The lock is a :class:`filelock.FileLock` (``flock`` on Unix, ``msvcrt`` on Windows), so it is
    released by the system when its holder dies. While held, the file names its holder (pid, host,
    start time, command line) for the message another sweep gets; it is removed, still held, when
    the sweep ends (a sweep that opened the removed file sees it is gone and takes a new one), so no
    ``.lock`` is left in the folder. ``out`` is created if needed (with its parents).

    Raises:
        LockedError: another process holds the lock (the message names it, and explains a stale lock).
        OutputError: ``out`` cannot be created, or its file system has no file locks.
    """
    import warnings

    with warnings.catch_warnings():  # "only soft file lock is available" (no fcntl): said in the docs instead
        warnings.simplefilter("ignore")
        import filelock

    out = Path(out)
    make_folder(out)
    path = out / LOCK
    record = (json.dumps(_holder(), separators=(", ", ": ")) + "\n").encode()
    # A native lock (flock, msvcrt) names its holder through its own descriptor; the soft lock used where
    # neither exists (a Unix without fcntl) writes its own marker into the file and removes it on release.
    native = filelock.FileLock in (filelock.UnixFileLock, filelock.WindowsFileLock)

    def claim(fd: int) -> None:  # runs with the lock held, on its descriptor
        with contextlib.suppress(OSError):  # the name is for messages only; the lock is what counts
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, record)

    lock = filelock.FileLock(path, timeout=LOCK_WAIT, **({"on_acquired": claim} if native else {}))
    try:
        lock.acquire()
    except filelock.Timeout:
        raise LockedError(locked_message(out)) from None
    except OSError as exc:
        raise OutputError(f"The '--out' folder {str(out)!r} cannot be locked: {_reason(exc)}.") from None
    try:
        yield
    finally:
        if native:
            with contextlib.suppress(OSError):
                path.unlink()  # still held: nobody can take this file between the unlink and the release
        lock.release()


def _holder() -> dict[str, Any]:
    """What a lock file says about its holder."""
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])}


def lock_holder(out: Path) -> dict[str, Any] | None:
    """The holder named in ``out/.lock`` (None if the file is gone, unreadable or names nobody)."""
    try:
        holder = json.loads((Path(out) / LOCK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(holder, dict) or not isinstance(holder.get("pid"), int) or not holder.get("host"):
        return None
    return holder


def _running(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (psutil comes with dask.distributed)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency of distributed
        return True
    return psutil.pid_exists(pid)


def locked_message(out: Path) -> str:
    """The one-line refusal for a locked folder: who holds it, and what to do (a stale lock explained)."""
    out = Path(out)
    lock = str(out / LOCK)
    holder = lock_holder(out)
    where = f"The '--out' folder {str(out)!r} is locked"
    if holder is None:
        return (f"{where}: another armsrace sweep is writing to {str(out)!r}; wait for it to finish, "
                f"or choose another --out.")
    pid, host = holder["pid"], str(holder["host"])
    since = f", started {holder['started_utc']}" if holder.get("started_utc") else ""
    if host != socket.gethostname():
        return (f"{where}: another armsrace sweep is writing to {str(out)!r} (pid {pid} on host {host!r}{since}); "
                f"wait for it to finish, or choose another --out; if that sweep no longer runs, the lock is stale "
                f"(its host stopped without releasing it): remove {lock!r} and retry.")
    if _running(pid):
        command = f": {holder['command']}" if holder.get("command") else ""
        return (f"{where}: another armsrace sweep is writing to {str(out)!r} (pid {pid} on {host}{since}{command}); "
                f"wait for it to finish, or choose another --out.")
    return (f"{where} by a stale lock: the sweep that took it (pid {pid} on {host}{since}) is no longer running, "
            f"but a process it started still holds {lock!r} open; stop that process (e.g. 'fuser -v {lock}' "
            f"names it) and retry.")


def chunk_key(index: int) -> str:
    return f"{index:05d}"


def chunk_file(out: str | Path, sub: str, key: str) -> Path:
    """``out/<sub>/chunk-<key>.parquet`` (``sub``: "runs" or "agents")."""
    return Path(out) / sub / f"chunk-{key}.parquet"


def has_manifest(out: str | Path) -> bool:
    return (Path(out) / MANIFEST).is_file()


def write_manifest(manifest: dict[str, Any], out: Path) -> None:
    """Replace ``out/manifest.json`` atomically (synced)."""
    atomic_write(Path(out) / MANIFEST, _json_bytes(manifest))


# Dictionary encoding only where values repeat (ids, years, countries): trying it on float paths
# costs more time than the simulation and gives larger files. Snappy: fast, and ~half the size.
_DICTIONARY = ["run", "design_point", "replicate", "year", "country", "escalation"]


def encode_parquet(table: pa.Table, where: BinaryIO | None = None) -> bytes | None:
    """Encode a chunk table as Parquet into ``where`` (an open binary file), or return the bytes."""
    buf = io.BytesIO() if where is None else where
    pq.write_table(table, buf, compression="snappy",
                   use_dictionary=[c for c in table.column_names if c in _DICTIONARY])
    return buf.getvalue() if where is None else None


def prepare_chunk_dirs(out: Path, subs: Sequence[str]) -> None:
    """Create ``out/<sub>/`` for each chunk table kept, removing temporaries a killed sweep left."""
    remove_temporaries(out)
    for sub in subs:
        make_folder(Path(out) / sub)
        remove_temporaries(Path(out) / sub)


def write_chunk(out: Path, index: int, tables: dict[str, pa.Table | bytes | None]) -> dict[str, str]:
    """Write a chunk's tables (``{"runs": ..., "agents": ...}``, Arrow or Parquet bytes; None: not kept),
    each atomically and synced. The caller marks the chunk done in the manifest afterwards, with the
    sha256 of each file this returns (``{"runs": ..., "agents": ...}``)."""
    hashes = {}
    for sub, data in tables.items():
        if data is None:
            continue
        payload = data if isinstance(data, bytes) else encode_parquet(data)
        atomic_write(chunk_file(out, sub, chunk_key(index)), payload)
        hashes[sub] = hashlib.sha256(payload).hexdigest()
    return hashes


def chunk_ranges(n_runs: int, chunk_size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` of the chunks of ``n_runs`` runs in chunks of ``chunk_size`` (the manifest's)."""
    return [(start, min(start + chunk_size, n_runs)) for start in range(0, n_runs, chunk_size)]


def check_manifest(manifest: Any, out: Path) -> None:
    """Raise ResumeError (one line naming the file and what is wrong) unless ``manifest`` has the shape a sweep
    writes: an object with ``n_runs`` and ``chunk_size`` (integers >= 1) and ``chunks`` holding exactly the
    chunks of those runs, each with its ``runs`` range, ``done`` (true or false) and, when done, the sha256
    of its files."""
    path = Path(out) / MANIFEST

    def damaged(what: str) -> ResumeError:
        return ResumeError(f"The manifest {str(path)!r} is damaged ({what}), so the sweep cannot be resumed; "
                           f"restore it from a copy, or run the sweep again into a new --out.")

    if not isinstance(manifest, dict):
        raise damaged(f"it holds a JSON {type(manifest).__name__}, not an object")
    for key in ("n_runs", "chunk_size"):
        v = manifest.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise damaged(f"{key!r} is {_short(v)}, not an integer >= 1")
    chunks = manifest.get("chunks")
    if not isinstance(chunks, dict):
        raise damaged(f"'chunks' is {_short(chunks)}, not a table of chunks")
    expected = {chunk_key(i): [a, b] for i, (a, b) in enumerate(chunk_ranges(manifest["n_runs"],
                                                                               manifest["chunk_size"]))}
    if set(chunks) != set(expected):
        odd = sorted(set(chunks) ^ set(expected))[0]
        raise damaged(f"'chunks' lists {len(chunks)} chunks, not the {len(expected)} of {manifest['n_runs']} runs in "
                      f"chunks of {manifest['chunk_size']} (chunk {odd!r})")
    for key, c in sorted(chunks.items()):
        if not isinstance(c, dict) or c.get("runs") != expected[key] or not isinstance(c.get("done"), bool):
            raise damaged(f"chunk {key!r} is {_short(c)}; expected runs {expected[key]} and done true or false")
        sha = c.get("sha256")
        if c["done"] and not (isinstance(sha, dict) and sha.get("runs") and all(isinstance(v, str) for v in
                                                                                 sha.values())):
            raise damaged(f"chunk {key!r} is marked done without the sha256 of its files")


def check_done_chunks(manifest: dict[str, Any], out: Path) -> None:
    """Raise ResumeError (one line naming the file) unless every file of every chunk marked done is there and
    is the file the sweep wrote (its sha256 is the one in the manifest; see :func:`check_manifest`)."""
    out = Path(out)
    for key, c in sorted(manifest["chunks"].items()):
        if not c["done"]:
            continue
        for sub, sha in sorted(c["sha256"].items()):
            f = chunk_file(out, sub, key)
            if not f.is_file():
                raise ResumeError(f"The sweep in {str(out)!r} is damaged: {str(f)!r} is missing although {MANIFEST} "
                                  f"marks chunk {key} done (was the folder copied in part?); restore the file, or run "
                                  f"the sweep again into a new --out.")
            try:
                same = file_hash(f) == sha
            except OSError as exc:
                raise ResumeError(f"The sweep in {str(out)!r} is damaged: {str(f)!r} cannot be read: "
                                  f"{_reason(exc)}.") from None
            if not same:
                raise ResumeError(f"The sweep in {str(out)!r} is damaged: {str(f)!r} is not the chunk the sweep "
                                  f"wrote (its sha256 differs from the one in {MANIFEST}); restore the file, or run "
                                  f"the sweep again into a new --out.")


def _short(value: Any) -> str:
    """``repr`` of a value from a file, cut to a length a one-line message can hold."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def remove_temporaries(folder: Path) -> None:
    """Remove files a killed writer left half-written (never read: files are renamed into place)."""
    for p in Path(folder).glob(f"*{TMP_SUFFIX}"):
        if p.is_file():
            p.unlink(missing_ok=True)


def only_leftovers(out: Path) -> bool:
    """True if ``out`` holds nothing but what a sweep killed before its first manifest can leave:
    the lock file, temporary files, and ``runs/`` / ``agents/`` folders holding only temporaries."""
    return first_foreign(out) is None


def first_foreign(out: Path) -> Path | None:
    """The first entry of ``out`` (by name) that is not a leftover of a sweep (see :func:`only_leftovers`)."""
    for p in sorted(Path(out).iterdir()):
        if p.name == LOCK or (p.name.endswith(TMP_SUFFIX) and p.is_file()):
            continue
        if p.name in CHUNK_DIRS and p.is_dir() and not p.is_symlink():
            if all(q.name.endswith(TMP_SUFFIX) and q.is_file() for q in p.iterdir()):
                continue
        return p
    return None


def remove_if_empty(out: Path) -> None:
    """Remove a folder a sweep created if it still holds only leftovers (a sweep that failed early)."""
    out = Path(out)
    if (out / MANIFEST).exists() or not out.is_dir() or not only_leftovers(out):
        return
    for p in out.iterdir():
        if p.is_dir():
            for q in p.iterdir():
                q.unlink(missing_ok=True)
            p.rmdir()
        else:
            p.unlink(missing_ok=True)
    out.rmdir()


# --- sweep folders: reading ----------------------------------------------------------------------

def read_manifest(out: str | Path) -> dict[str, Any]:
    """The manifest of a result folder.

    Raises:
        ResumeError: missing or unreadable (one line naming the file).
    """
    path = Path(out) / MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ResumeError(f"The manifest {str(path)!r} cannot be read: {exc}.") from None


def done_chunk_files(out: str | Path, sub: str, manifest: dict[str, Any] | None = None) -> list[Path]:
    """Files of the chunks marked done in the manifest, in run order: ``out/<sub>/chunk-NNNNN.parquet``.

    ``sub`` is "runs" or "agents". A chunk file not marked done (a sweep killed between renaming it
    into place and marking it) is never listed: the sweep recomputes it on resume. A manifest
    without a (valid) ``chunks`` table lists nothing.
    """
    manifest = read_manifest(out) if manifest is None else manifest
    chunks = manifest.get("chunks") if isinstance(manifest, dict) else None
    if not isinstance(chunks, dict):
        return []
    keys = sorted((k for k, c in chunks.items() if isinstance(c, dict) and c.get("done") is True
                   and str(k).isdigit()), key=int)
    return [chunk_file(out, sub, k) for k in keys]


def read_runs(out: str | Path) -> pd.DataFrame:
    """The runs table of a result folder (done chunks only), ordered by run id."""
    files = done_chunk_files(out, "runs")
    if not files:
        return pd.DataFrame()
    return pd.concat([read_chunk(f, f"The results folder {str(out)!r}") for f in files], ignore_index=True)


def read_agents(out: str | Path) -> pd.DataFrame:
    """The agents table of a result folder (done chunks only), ordered by run, year, country."""
    files = done_chunk_files(out, "agents")
    if not files or not files[0].exists():
        return pd.DataFrame()
    return pd.concat([read_chunk(f, f"The results folder {str(out)!r}") for f in files], ignore_index=True)


def outcome_values(runs: pd.DataFrame, outcome: str) -> pd.Series:
    """Per-run values of an outcome column or of a derived share (:data:`DERIVED`), as floats.

    ``escalation`` gives the class code (0 stable, 1 buildup, 2 spiral). An unknown column raises
    KeyError; :meth:`Results.values` turns it into a one-line ParameterError.
    """
    if outcome in DERIVED:
        return runs["escalation"].isin(DERIVED[outcome]).astype(float)
    if outcome == "escalation":
        return runs["escalation_code"].astype(float)
    return pd.to_numeric(runs[outcome], errors="coerce").astype(float)


@dataclass
class Results:
    """One sweep result folder: its manifest and runs table; agent rows are read on demand
    (:meth:`read_agents`, chunk by chunk, only the columns and runs asked for).

    Attributes:
        path: the result folder.
        manifest: the parsed ``manifest.json``.
        runs: one row per run of the chunks marked done, sorted by ``run``.
    """

    path: Path
    manifest: dict[str, Any]
    runs: pd.DataFrame

    @property
    def design(self) -> dict[str, Any]:
        return self.manifest["design"]

    @property
    def kind(self) -> str:
        return str(self.design.get("kind", ""))

    @property
    def varied(self) -> list[str]:
        return list(self.design.get("varied", []))

    @property
    def replicates(self) -> int:
        return int(self.manifest.get("replicates") or self.runs["replicate"].nunique())

    @property
    def n_points(self) -> int:
        return int(self.runs["design_point"].nunique())

    @property
    def base_scenario(self) -> str:
        base = self.manifest.get("base_scenario") or ""
        return Path(str(base)).stem if base else ""

    @property
    def label(self) -> str:
        """Name used on charts: the folder name."""
        return self.path.name

    @property
    def where(self) -> str:
        """``The results folder '<path>'``, how messages name it."""
        return f"The results folder {str(self.path)!r}"

    @property
    def expected_runs(self) -> int:
        """Runs the experiment declares (``n_runs`` in the manifest); more than ``len(runs)`` if unfinished."""
        return int(self.manifest.get("n_runs") or len(self.runs))

    @property
    def incomplete_note(self) -> str:
        n, m = len(self.runs), self.expected_runs
        return f"Unfinished sweep: {n:,} of {m:,} runs." if n < m else ""

    @property
    def outcomes(self) -> list[str]:
        """Outcome columns of the runs table (everything but ids and varied parameters)."""
        skip = set(ID_COLUMNS) | set(self.varied)
        return [c for c in self.runs.columns if c not in skip]

    @property
    def agent_files(self) -> list[Path]:
        """Agent tables of the chunks marked done (none when the sweep kept no paths)."""
        if not (self.path / "agents").is_dir():
            return []
        return done_chunk_files(self.path, "agents", self.manifest)

    @property
    def has_agents(self) -> bool:
        return bool(self.agent_files)

    @property
    def manifest_sha256(self) -> str:
        return file_hash(self.path / MANIFEST)

    def read_agents(self, columns: Sequence[str] | None = None, runs: Iterable[int] | None = None) -> pd.DataFrame:
        """Agent rows (optionally only some columns and runs), read chunk by chunk.

        Raises:
            ParameterError: the folder has no ``agents/chunk-*.parquet`` of a chunk marked done.
        """
        if not self.has_agents:
            raise ParameterError(f"{self.where} has no agent tables (agents/chunk-*.parquet); fan charts need them.")
        cols = None if columns is None else list(dict.fromkeys(["run", *columns]))
        keep = None if runs is None else np.unique(np.fromiter(runs, dtype=np.int64))
        parts = []
        for f in self.agent_files:
            part = read_chunk(f, self.where, columns=cols)
            if keep is not None:
                part = part[np.isin(part["run"].to_numpy(), keep)]
            parts.append(part)
        return pd.concat(parts, ignore_index=True)

    def check_outcome(self, outcome: str) -> None:
        """Raise ParameterError (naming the folder and the known outcomes) unless ``outcome`` exists."""
        if outcome not in DERIVED and outcome != "escalation" and outcome not in self.runs.columns:
            raise ParameterError(f"{self.where} has no outcome {outcome!r}; "
                                 f"known: {', '.join(['escalation', *DERIVED, *self.outcomes])}.")

    def values(self, outcome: str) -> pd.Series:
        """Per-run values of an outcome column or of a derived share (:data:`DERIVED`), as floats."""
        if outcome not in DERIVED and outcome != "escalation" and outcome not in self.runs.columns:
            raise ParameterError(f"{self.where} has no outcome {outcome!r}; known: {', '.join(self.outcomes)}.")
        return outcome_values(self.runs, outcome)


def load_results(folder: str | Path) -> Results:
    """Read a sweep result folder: the manifest and the runs of the chunks it marks done.

    Agents are read when needed (:meth:`Results.read_agents`). Chunk files not marked done (left by
    an interrupted sweep) are ignored, as by :func:`read_runs`.

    Raises:
        ParameterError: the folder is missing, has no (valid) ``manifest.json``, no runs, or runs
            without the contract's id and varied-parameter columns. The message names the folder.
    """
    folder = Path(folder)
    where = f"The results folder {str(folder)!r}"
    if not folder.is_dir():
        raise ParameterError(f"{where} does not exist." if not folder.exists() else f"{where} is not a folder.")
    mpath = folder / MANIFEST
    if not mpath.is_file():
        raise ParameterError(f"{where} has no manifest.json; is it the output of 'armsrace sweep'?")
    try:
        manifest = json.loads(mpath.read_text())
    except (OSError, ValueError) as exc:
        raise ParameterError(f"{where} has an unreadable manifest.json: {exc}.") from None
    design = manifest.get("design") if isinstance(manifest, dict) else None
    if not isinstance(design, dict) or not isinstance(design.get("varied"), list) or "kind" not in design:
        raise ParameterError(f"{where} has a manifest.json without a design (kind, varied).")
    files = done_chunk_files(folder, "runs", manifest)
    if not files:
        raise ParameterError(f"{where} has no runs (no chunk of runs/chunk-*.parquet marked done in {MANIFEST}).")
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise ParameterError(f"{where} has no runs/{missing[0].name}, which {MANIFEST} marks done "
                             f"({len(missing)} such chunk(s)); was the folder copied in part?")
    runs = pd.concat([read_chunk(f, where) for f in files], ignore_index=True)
    if runs.empty:
        raise ParameterError(f"{where} has no runs (the runs tables are empty).")
    missing = [c for c in (*ID_COLUMNS[:3], *design["varied"], "escalation") if c not in runs.columns]
    if missing:
        raise ParameterError(f"{where} has runs without the column(s) {', '.join(missing)}.")
    runs = runs.sort_values("run", kind="stable").reset_index(drop=True)
    return Results(path=folder, manifest=manifest, runs=runs)


def read_chunk(path: Path, where: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One chunk table of a result folder (``where``: how messages name the folder).

    Raises:
        ParameterError: the file is not a readable Parquet table (or lacks ``columns``): one line naming it
            and what to do.
    """
    try:
        return pd.read_parquet(path, columns=None if columns is None else list(columns))
    except Exception as exc:  # pyarrow raises several types for damaged files
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ParameterError(f"{where} has a damaged chunk file {str(path)!r} ({reason}); restore it from a copy, or "
                             f"run the sweep again into a new folder.") from None


def as_list(results: Results | Sequence[Results]) -> list[Results]:
    return [results] if isinstance(results, Results) else list(results)


def unique_labels(results: Sequence[Results]) -> list[str]:
    """Folder names, made unique with the parent folder (or a number) when they collide."""
    labels = [r.label for r in results]
    for i, r in enumerate(results):
        if labels.count(r.label) > 1:
            labels[i] = f"{r.path.parent.name}/{r.label}" if r.path.parent.name else r.label
    seen: dict[str, int] = {}
    for i, lab in enumerate(labels):
        seen[lab] = seen.get(lab, 0) + 1
        if seen[lab] > 1:
            labels[i] = f"{lab} ({seen[lab]})"
    return labels


def unfinished_note(results: Results | Sequence[Results], labels: Sequence[str] | None = None) -> str:
    """The note 'Unfinished sweep: x of y runs.' naming the unfinished results (empty if none)."""
    rs = as_list(results)
    if len(rs) == 1:
        return rs[0].incomplete_note
    labels = unique_labels(rs) if labels is None else labels
    parts = [f"{lab} {len(r.runs):,} of {r.expected_runs:,} runs" for r, lab in zip(rs, labels, strict=True)
             if r.incomplete_note]
    return f"Unfinished sweep: {'; '.join(parts)}." if parts else ""


def legend_label(res: Results, label: str) -> str:
    """A result's label with its base scenario, when that differs: ``label [base]``."""
    return f"{label} [{res.base_scenario}]" if res.base_scenario and res.base_scenario != label else label


# --- result folders of every kind, for the browser's Results tab ----------------------------------

FOLDER_KINDS = {"sweep": (MANIFEST,), "run": ("summary.json", "metadata.json"), "comparison": ("compare.json",)}
"""What marks a result folder, by kind: ``armsrace sweep`` (manifest), ``armsrace run`` (summary and
metadata), ``armsrace compare`` (compare.json)."""


def _browsable(path: Path, root: Path) -> bool:
    """Whether ``path`` is no symlink and resolves inside ``root`` (itself resolved)."""
    try:
        return not path.is_symlink() and path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def folder_kind(folder: str | Path) -> str | None:
    """``"sweep"``, ``"run"`` or ``"comparison"`` for a result folder, else None (marker files as regular files)."""
    folder = Path(folder)
    for kind, markers in FOLDER_KINDS.items():
        if all((folder / m).is_file() and not (folder / m).is_symlink() for m in markers):
            return kind
    return None


def browsable_folders(root: str | Path) -> list[tuple[Path, str]]:
    """``(folder, kind)`` of the result folders directly under ``root``, by name.

    Never a symlinked folder, nor one resolving outside ``root``: the browser view reads and
    (for a sweep without charts) writes only what is really under the results folder.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.iterdir()):
        if p.is_dir() and _browsable(p, root):
            kind = folder_kind(p)
            if kind:
                out.append((p, kind))
    return out


def chart_folder(folder: Path, kind: str) -> Path:
    """Where a folder's PNG charts are: ``plots/`` of a sweep, the folder itself for a run or comparison."""
    return Path(folder) / "plots" if kind == "sweep" else Path(folder)


def browsable_charts(folder: str | Path, kind: str, root: str | Path) -> list[Path]:
    """The PNG charts of a result folder, by name: regular files only, never a symlink, all inside ``root``."""
    where = chart_folder(Path(folder), kind)
    if not where.is_dir() or not _browsable(where, Path(root)):
        return []
    return sorted(p for p in where.glob("*.png") if p.is_file() and _browsable(p, Path(root)))


def read_chart(path: str | Path, root: str | Path) -> bytes:
    """A chart's bytes, refusing a symlink or a file outside ``root`` (OutputError)."""
    path = Path(path)
    if not _browsable(path, Path(root)):
        raise OutputError(f"The chart {str(path)!r} is not a file inside {str(root)!r}.")
    return path.read_bytes()
