"""Sweeps: every run of an experiment file, in chunks, streamed to disk, resumable.

The runs of an experiment (:mod:`model.batch.experiments`) are cut into chunks of ``chunk_size``
consecutive run ids; a chunk is one task (one task per run would cost more than the run). A chunk
is computed by :func:`run_chunk` (in this process, or on Dask workers), which returns its tables
already encoded as Parquet, and this process writes them and marks the chunk done. Results are
therefore identical whatever the engine, chunk size, worker count or scheduler: seeds depend on
the run id only.

Result folder (a contract: the charts read it)::

    DIR/manifest.json              experiment_file, experiment_hash (sha256 of the file bytes),
                                   params_hash, design_hash, data_hash (see below),
                                   experiment (parsed, validated), base_scenario, design {kind, varied,
                                   n_points, and for sobol problem, n, calc_second_order}, replicates,
                                   n_runs, chunk_size, seeds {root | list}, engine, versions, code,
                                   created_utc, chunks {"00000": {"runs": [start, stop], "done": bool}}
    DIR/runs/chunk-00000.parquet   one row per run: run, design_point, replicate, seed, the varied
                                   parameters, every outcome of model.sim.outcomes.summarise, stability_radius
    DIR/agents/chunk-00000.parquet per run, year and country: run, year, country and the kept
                                   variables (only when the experiment keeps paths)

    DIR/.lock                      held (flock) by the sweep writing to DIR; no content

Run ids are design-point-major: ``run = design_point * replicates + replicate``.

Resuming (``resume=True``) continues only the same sweep: the experiment file bytes
(``experiment_hash``), the base parameter values every run shares (``params_hash``: sha256 of
their canonical JSON; it changes with the base scenario file, ``[fixed]`` or
``model/data/defaults.toml``), the design points (``design_hash``: sha256 of each column's
name, dtype and bytes; it changes when another SALib or SciPy draws other LHS / Sobol points) and
the model's data files (``data_hash``: ``model/data/*.csv`` and ``*.toml``) must all be unchanged.
One sweep at a time writes to a folder: the sweep holds an exclusive lock on ``DIR/.lock`` and
another sweep on the same folder is refused at once.

Crash safety: each chunk file is written under a temporary name and renamed into place
(``os.replace``), then the chunk is marked done in ``manifest.json`` (itself replaced
atomically). The manifest is written before anything else, so a folder without one holds at
most what a kill can leave before it (the lock, temporary files, empty ``runs/``/``agents/``) and
counts as empty. A sweep killed at any moment finishes with ``resume=True`` to exactly the tables
of an uninterrupted sweep: chunks not marked done are recomputed and overwritten; stray temporary
files are removed. Only chunks marked done are ever read (:func:`done_chunk_files`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from model.batch.engine import ENGINES, agents_arrow, runs_columns, simulate
from model.batch.experiments import Experiment, load_experiment, run_seeds
from model.batch.store import check_writable, file_hash, metadata, write_json
from model.errors import OutputError, ParameterError, ResumeError
from model.sim.params import DATA_DIR, Params

MANIFEST = "manifest.json"
LOCK = ".lock"
"""Lock file of a result folder: the sweep writing to it holds an exclusive ``flock``."""
MAX_CHUNK = 1000
"""Largest default chunk (runs): bigger chunks add memory but barely any speed to the kernel."""
MIN_CHUNK = 100
"""Smallest default chunk (runs): below this the per-year Python overhead dominates."""
TMP_SUFFIX = ".tmp"



@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs to compute one chunk (picklable, small).

    Attributes:
        index: chunk number.
        start, stop: run ids ``start..stop-1``.
        base: parameters shared by every run.
        varied: parameter -> (stop-start,) values of these runs.
        design_point, replicate: (stop-start,) int64.
        root_seed, seed_list: the experiment's seed scheme (seeds are derived in the worker).
        engine: "fast" or "mesa".
        variables: kept agent variables; paths: write the agents table.
    """

    index: int
    start: int
    stop: int
    base: Params
    varied: dict[str, np.ndarray]
    design_point: np.ndarray
    replicate: np.ndarray
    root_seed: int | None
    seed_list: tuple[int, ...] | None
    engine: str
    variables: tuple[str, ...]
    paths: bool


@dataclass(frozen=True)
class ChunkResult:
    """A computed chunk: its tables as Arrow, or already encoded as Parquet bytes (from workers).

    ``agents`` is None when the experiment keeps no paths.
    """

    index: int
    n_runs: int
    runs: pa.Table | bytes
    agents: pa.Table | bytes | None


def chunk_tables(task: ChunkTask) -> ChunkResult:
    """Compute one chunk of runs: its runs and agents tables as Arrow."""
    run = np.arange(task.start, task.stop, dtype=np.int64)
    seeds = run_seeds(run, task.replicate, task.root_seed, task.seed_list)
    varied = {k: np.asarray(v) for k, v in task.varied.items()}
    p = simulate(task.base, varied, seeds, task.engine)
    cols = runs_columns(p, run, seeds, varied)
    cols = {"run": cols.pop("run"), "design_point": task.design_point, "replicate": task.replicate, **cols}
    agents = agents_arrow(p, run, task.variables) if task.paths else None
    return ChunkResult(task.index, len(run), pa.table(cols), agents)


def run_chunk(task: ChunkTask) -> ChunkResult:
    """Compute one chunk (on a worker) and encode its tables as Parquet bytes, ready to write."""
    r = chunk_tables(task)
    return ChunkResult(r.index, r.n_runs, _parquet(r.runs), None if r.agents is None else _parquet(r.agents))


# Dictionary encoding only where values repeat (ids, years, countries): trying it on float paths
# costs more time than the simulation and gives larger files. Snappy: fast, and ~half the size.
_DICTIONARY = ["run", "design_point", "replicate", "year", "country", "escalation"]


def _parquet(table: pa.Table, where: Path | None = None) -> bytes | None:
    """Encode ``table`` as Parquet into ``where`` (a path), or return the bytes."""
    buf = io.BytesIO() if where is None else where
    pq.write_table(table, buf, compression="snappy",
                   use_dictionary=[c for c in table.column_names if c in _DICTIONARY])
    return buf.getvalue() if where is None else None


def chunk_tasks(exp: Experiment, chunk_size: int, indices: Iterable[int], engine: str) -> Iterator[ChunkTask]:
    """Tasks for the given chunk numbers (lazily: the design is sliced as tasks are sent)."""
    points = exp.points
    for index in indices:
        start = index * chunk_size
        stop = min(start + chunk_size, exp.n_runs)
        run, point, rep = exp.run_index(start, stop)
        varied = {c: points[c].to_numpy()[point] for c in points.columns}
        yield ChunkTask(index, start, stop, exp.base, varied, point, rep, exp.root_seed, exp.seed_list,
                        engine, exp.variables, exp.keep_paths)


def default_chunk_size(n_runs: int, workers: int | None) -> int:
    """About eight chunks per worker (load balance, progress, resume granularity), within bounds."""
    per = -(-n_runs // (8 * max(1, workers or 1)))
    return int(min(MAX_CHUNK, max(MIN_CHUNK, per)))


def default_out(experiment_path: str | Path) -> Path:
    return Path("results") / Path(experiment_path).stem


# --- the sweep ---------------------------------------------------------------------------------------

def run_sweep(experiment_path: str | Path, out: str | Path | None = None, workers: int | None = None,
              scheduler: str | None = None, resume: bool = False, engine: str = "fast",
              chunk_size: int | None = None, progress: bool = True) -> Path:
    """Run (or finish) every run of an experiment file and write the result folder.

    Args:
        experiment_path: the experiment TOML file.
        out: result folder (default ``results/<file stem>``).
        workers: run on a local Dask cluster with this many worker processes (None: in-process).
        scheduler: address of an existing Dask scheduler (``tcp://host:port``); excludes ``workers``.
        resume: finish the sweep already in ``out`` (same experiment file, base parameters, design
            points and model data required: see the module docstring).
        engine: "fast" or "mesa" (identical results; mesa is the slow reference).
        chunk_size: runs per chunk (default: :func:`default_chunk_size`; a resumed sweep keeps its own).
        progress: show a progress bar (runs, rate, ETA) on stderr.

    Returns:
        The result folder.

    Raises:
        ParameterError: invalid experiment file or options; ResumeError: ``out`` holds another or
            a changed sweep, nothing to resume from, or another sweep is writing to it; OutputError:
            ``out`` cannot be written.
    """
    if engine not in ENGINES:
        raise ParameterError(f"The '--engine' option must be one of {', '.join(map(repr, ENGINES))}. "
                             f"Got {engine!r} instead.")
    if workers is not None and scheduler is not None:
        raise ParameterError(f"Give either '--workers' or '--scheduler', not both. Got {workers!r} and "
                             f"{scheduler!r}.")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"The '--workers' option must be an integer >= 1. Got {workers!r} instead.")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ParameterError(f"The '--chunk-size' option must be an integer >= 1. Got {chunk_size!r} instead.")
    path = Path(experiment_path)
    exp = load_experiment(path)
    out = Path(out) if out is not None else default_out(path)
    check_writable(out)
    hashes = {"experiment_hash": file_hash(path), "params_hash": params_hash(exp.base),
              "design_hash": design_hash(exp.points), "data_hash": data_hash()}
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    with sweep_lock(out):
        try:
            _sweep(exp, path, out, hashes, workers, scheduler, resume, engine, chunk_size, progress)
        except BaseException:
            if created:  # failed before its manifest (e.g. no scheduler): leave no folder behind
                _remove_if_empty(out)
            raise
    return out


def _sweep(exp: Experiment, path: Path, out: Path, hashes: dict[str, str], workers: int | None,
           scheduler: str | None, resume: bool, engine: str, chunk_size: int | None, progress: bool) -> None:
    """The sweep proper, under the folder's lock."""
    manifest = _existing_manifest(out, resume)
    if manifest is not None:
        _check_same_sweep(manifest, hashes, path, out)
        if chunk_size is not None and chunk_size != manifest["chunk_size"]:
            raise ResumeError(f"The '--chunk-size' option must match the sweep being resumed "
                              f"({manifest['chunk_size']}). Got {chunk_size!r} instead.")
        chunk_size = int(manifest["chunk_size"])
    else:
        chunk_size = chunk_size or default_chunk_size(exp.n_runs, workers)
        manifest = new_manifest(exp, path, hashes, chunk_size, engine)
    pending = sorted(int(k) for k, c in manifest["chunks"].items() if not c["done"])
    done_runs = exp.n_runs - sum(c["runs"][1] - c["runs"][0] for c in manifest["chunks"].values()
                                 if not c["done"])
    with executor(workers, scheduler) as compute:
        # The manifest first: a folder without one is never more than a kill can leave before it.
        _remove_temporaries(out, f"{MANIFEST}.")
        _write_manifest(manifest, out)
        for sub in ("runs", "agents") if exp.keep_paths else ("runs",):
            (out / sub).mkdir(exist_ok=True)
            _remove_temporaries(out / sub, ".chunk-")
        with _progress(exp.n_runs, done_runs, progress, exp.name) as bar, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweep-writer") as writer:

            def finish(result: ChunkResult) -> None:
                _write_chunk(result, out)
                manifest["chunks"][chunk_key(result.index)]["done"] = True
                _write_manifest(manifest, out)
                bar.update(result.n_runs)

            # Encoding and writing a chunk (pyarrow, without the GIL) overlap the computation of
            # the next one; one chunk at most waits, so memory stays flat and chunks are marked
            # done one at a time, in the order they were written.
            writing = None
            for result in compute(chunk_tasks(exp, chunk_size, pending, engine)):
                if writing is not None:
                    writing.result()
                writing = writer.submit(finish, result)
            if writing is not None:
                writing.result()


# What each recorded hash covers, for the one-line refusal to resume.
_HASHES = {
    "experiment_hash": "The experiment file {file!r}",
    "params_hash": "The base parameters (base scenario file, [fixed] or model/data/defaults.toml)",
    "design_hash": "The design points (another SALib / SciPy version samples other LHS / Sobol points)",
    "data_hash": "The model data (model/data/*.csv, *.toml)",
}


def _check_same_sweep(manifest: dict[str, Any], hashes: dict[str, str], path: Path, out: Path) -> None:
    """Refuse to resume when anything that sets the runs differs from the sweep in ``out``."""
    for key, what in _HASHES.items():
        recorded = manifest.get(key)
        if recorded is None:
            raise ResumeError(f"The sweep in {str(out)!r} records no {key} (started by an older armsrace), so "
                              f"resuming it cannot be checked; run it without --resume into another --out.")
        if recorded != hashes[key]:
            raise ResumeError(
                f"{what.format(file=str(path))} changed since the sweep in {str(out)!r} started ({key} "
                f"{hashes[key][:12]} != {str(recorded)[:12]}); run it without --resume into another --out.")


def params_hash(base: Params) -> str:
    """sha256 of the canonical JSON of the parameter values shared by every run."""
    text = json.dumps(base.values, sort_keys=True, separators=(",", ":"),
                      default=lambda v: v.item() if isinstance(v, np.generic) else list(v))
    return hashlib.sha256(text.encode()).hexdigest()


def design_hash(points: Any) -> str:
    """sha256 of the design points table: each column's name, dtype and values (exact bytes)."""
    h = hashlib.sha256()
    h.update(str(len(points)).encode())
    for name in points.columns:
        values = np.ascontiguousarray(points[name].to_numpy())
        h.update(f"\0{name}\0{values.dtype.str}\0".encode())
        h.update(values.tobytes())
    return h.hexdigest()


def data_hash() -> str:
    """sha256 of the model's data files (``model/data/*.csv`` and ``*.toml``, by name)."""
    h = hashlib.sha256()
    for f in sorted(p for p in DATA_DIR.iterdir() if p.suffix in (".csv", ".toml") and p.is_file()):
        h.update(f"\0{f.name}\0".encode())
        h.update(f.read_bytes())
    return h.hexdigest()


@contextlib.contextmanager
def sweep_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive, non-blocking ``flock`` on ``out/.lock`` (refuse if another sweep has it)."""
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ResumeError(f"The '--out' folder {str(out)!r} is locked: another armsrace sweep is writing to "
                              f"{str(out)!r}; wait for it to finish, or choose another --out.") from None
        yield
    finally:
        os.close(fd)  # releases the lock


def chunk_key(index: int) -> str:
    return f"{index:05d}"


def new_manifest(exp: Experiment, path: Path, hashes: dict[str, str], chunk_size: int,
                 engine: str) -> dict[str, Any]:
    """The manifest of a new sweep, every chunk pending (``hashes``: experiment, params, design, data)."""
    chunks = {}
    for index, start in enumerate(range(0, exp.n_runs, chunk_size)):
        chunks[chunk_key(index)] = {"runs": [start, min(start + chunk_size, exp.n_runs)], "done": False}
    return metadata(
        experiment_file=str(path), **{k: hashes[k] for k in _HASHES}, experiment=exp.content,
        base_scenario=exp.base_scenario, design=exp.design_record(), replicates=exp.replicates,
        n_runs=exp.n_runs, chunk_size=chunk_size, seeds=exp.seeds_record(), engine=engine,
        chunks=chunks)


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The manifest of a result folder."""
    path = Path(out) / MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ResumeError(f"The manifest {str(path)!r} cannot be read: {exc}.") from None


def _existing_manifest(out: Path, resume: bool) -> dict[str, Any] | None:
    """The manifest to resume from, or None for a fresh sweep; refuses to mix sweeps."""
    has_manifest = (out / MANIFEST).is_file()
    non_empty = out.is_dir() and not _only_leftovers(out)
    if resume:
        if has_manifest:
            return read_manifest(out)
        if non_empty:
            raise ResumeError(f"The '--out' folder {str(out)!r} holds no sweep to resume (no {MANIFEST}) "
                              f"and is not empty; choose another --out.")
        return None
    if has_manifest:
        raise ResumeError(f"The '--out' folder {str(out)!r} already holds a sweep; use --resume to "
                          f"finish it, or choose another --out.")
    if non_empty:
        raise ResumeError(f"The '--out' folder {str(out)!r} is not empty; choose another --out.")
    return None


def _only_leftovers(out: Path) -> bool:
    """True if ``out`` holds nothing but what a sweep killed before its first manifest can leave:
    the lock file, temporary files, and ``runs/`` / ``agents/`` folders holding only temporaries."""
    for p in out.iterdir():
        if p.name == LOCK or (p.name.endswith(TMP_SUFFIX) and p.is_file()):
            continue
        if p.name in ("runs", "agents") and p.is_dir() and not p.is_symlink():
            if all(q.name.endswith(TMP_SUFFIX) and q.is_file() for q in p.iterdir()):
                continue
        return False
    return True


def _remove_if_empty(out: Path) -> None:
    """Remove a folder this sweep created if it still holds only leftovers (a sweep that failed early)."""
    if (out / MANIFEST).exists() or not out.is_dir() or not _only_leftovers(out):
        return
    for p in out.iterdir():
        if p.is_dir():
            for q in p.iterdir():
                q.unlink(missing_ok=True)
            p.rmdir()
        else:
            p.unlink(missing_ok=True)
    out.rmdir()


def _write_manifest(manifest: dict[str, Any], out: Path) -> None:
    tmp = out / f"{MANIFEST}.{os.getpid()}{TMP_SUFFIX}"
    write_json(manifest, tmp)
    os.replace(tmp, out / MANIFEST)


def _write_chunk(result: ChunkResult, out: Path) -> None:
    """Write a chunk's files under temporary names, then rename them into place."""
    name = f"chunk-{chunk_key(result.index)}.parquet"
    for sub, data in (("runs", result.runs), ("agents", result.agents)):
        if data is None:
            continue
        tmp = out / sub / f".{name}.{os.getpid()}{TMP_SUFFIX}"
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            _parquet(data, tmp)
        os.replace(tmp, out / sub / name)


def _remove_temporaries(folder: Path, prefix: str) -> None:
    """Remove files a killed sweep left half-written (never read: chunks are renamed into place)."""
    for p in folder.glob(f"{prefix}*{TMP_SUFFIX}"):
        if p.is_file():
            p.unlink(missing_ok=True)


@contextlib.contextmanager
def executor(workers: int | None, scheduler: str | None) -> Iterator[Callable[[Iterator[ChunkTask]],
                                                                           Iterator[ChunkResult]]]:
    """A function mapping chunk tasks to results (in completion order), on the chosen resources.

    In-process when neither ``workers`` nor ``scheduler`` is given; else a Dask LocalCluster of
    ``workers`` single-threaded processes, or the existing cluster at ``scheduler``. The cluster
    is connected on entry, so an unreachable scheduler fails before anything is written.
    """
    if workers is None and scheduler is None:
        yield lambda tasks: (chunk_tables(t) for t in tasks)
        return
    from dask.distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ParameterError(f"The '--scheduler' address {scheduler!r} cannot be reached: {reason}.") from None
        with client:
            yield lambda tasks: _distributed(client, tasks)
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield lambda tasks: _distributed(client, tasks)


def _distributed(client, tasks: Iterator[ChunkTask]) -> Iterator[ChunkResult]:
    """Keep a bounded number of chunks in flight (flat memory), yield them as they complete."""
    from dask.distributed import as_completed

    n_threads = max(1, sum(client.nthreads().values()))
    in_flight = 2 * n_threads
    queue = as_completed()
    for task in tasks:
        queue.add(client.submit(run_chunk, task, pure=False))
        if queue.count() >= in_flight:
            break
    for future in queue:
        result = future.result()
        future.release()
        nxt = next(tasks, None)
        if nxt is not None:
            queue.add(client.submit(run_chunk, nxt, pure=False))
        yield result


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc) -> None:
        pass


def _progress(total: int, initial: int, enabled: bool, label: str):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="run", desc=label, file=sys.stderr, dynamic_ncols=True,
                smoothing=0.1)


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
    return [Path(out) / sub / f"chunk-{k}.parquet" for k in keys]


def read_runs(out: str | Path) -> Any:
    """The runs table of a result folder (done chunks only), ordered by run id."""
    import pandas as pd

    files = done_chunk_files(out, "runs")
    if not files:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def read_agents(out: str | Path) -> Any:
    """The agents table of a result folder (done chunks only), ordered by run, year, country."""
    import pandas as pd

    files = done_chunk_files(out, "agents")
    if not files or not files[0].exists():
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


__all__ = ["run_sweep", "run_chunk", "read_manifest", "read_runs", "read_agents", "done_chunk_files", "OutputError",
           "ResumeError", "MANIFEST", "LOCK"]
