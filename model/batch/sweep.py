"""Sweeps: every run of an experiment file, in chunks, streamed to disk, resumable.

The runs of an experiment (:mod:`model.batch.experiments`) are cut into chunks of ``chunk_size``
consecutive run ids; a chunk is one task (one task per run would cost more than the run). A chunk
is computed by :func:`run_chunk` (in this process, or on Dask workers), which returns its tables
already encoded as Parquet, and this process writes them and marks the chunk done. Results are
therefore identical whatever the engine, chunk size, worker count or scheduler: seeds depend on
the run id only.

The result folder's layout (manifest, ``runs/`` and ``agents/`` chunks, lock) is the contract of
:mod:`model.batch.store`, which writes and reads every file of it; this module decides what to
compute and when to write it.

Run ids are design-point-major: ``run = design_point * replicates + replicate``.

Resuming (``resume=True``) continues only the same sweep: the experiment file bytes
(``experiment_hash``), the base parameter values every run shares (``params_hash``: sha256 of
their canonical JSON; it changes with the base scenario file, ``[fixed]`` or
``model/data/defaults.toml``), the design points (``design_hash``: sha256 of each column's
name, dtype and bytes; it changes when another SALib or SciPy draws other LHS / Sobol points), the
package's sources (``code_hash``: ``model/**/*.py``, so an edit the git commit does not show counts)
and the model's data files (``data_hash``: every file of ``model/data/``) must all be unchanged, the
manifest must have the shape a sweep writes and every chunk it marks done must be there, with the
sha256 it recorded. On a Dask cluster, each task carries the client's code and data hash, and a
worker whose own differs refuses it (:class:`~model.errors.ClusterError`): a worker with another
copy of the package never adds its runs to the table.
One sweep at a time writes to a folder: the sweep holds the lock ``DIR/.lock``
(:func:`model.batch.store.sweep_lock`) and another sweep on the same folder is refused at once, with
a message naming the holder. A refused sweep leaves nothing behind, and a finished one no lock file.

Crash safety: each chunk file is written under a temporary name and renamed into place
(:func:`model.batch.store.atomic_write`), then the chunk is marked done in ``manifest.json`` (itself
replaced atomically). The manifest is written before anything else, so a folder without one holds at
most what a kill can leave before it (the lock, temporary files, empty ``runs/``/``agents/``) and
counts as empty. A sweep killed at any moment finishes with ``resume=True`` to exactly the tables
of an uninterrupted sweep: chunks not marked done are recomputed and overwritten; stray temporary
files are removed. Only chunks marked done are ever read (:func:`model.batch.store.done_chunk_files`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from model.batch import store
from model.batch.engine import ENGINES, agents_arrow, runs_columns, simulate
from model.batch.experiments import Experiment, load_experiment, run_seeds
from model.batch.store import MANIFEST, check_writable, chunk_key, file_hash, metadata
from model.errors import ClusterError, LockedError, OutputError, ParameterError, ResumeError, WriteError
from model.sim.counterfactual import ensemble_band
from model.sim.params import DATA_DIR, Params
from model.sim.units import UNITS

PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The ``model`` package: its sources are hashed into every manifest (:func:`code_hash`)."""

MAX_CHUNK = 1000
"""Largest default chunk (runs): bigger chunks add memory but barely any speed to the kernel."""
MIN_CHUNK = 100
"""Smallest default chunk (runs): below this the per-year Python overhead dominates."""
DEFAULT_TIMEOUT = 30.0
"""Seconds a sweep waits on a Dask cluster (``--timeout``): for the scheduler to answer, for a first worker,
and for a worker to come back after the last one was lost."""


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
        band: noise band of the experiment's no-lever ensemble (computed once per sweep,
            :func:`model.sim.counterfactual.ensemble_band`).
        source_hash: the client's :func:`source_hash` (code and data); a worker whose own differs refuses
            the chunk (None: computed in this process, nothing to check).
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
    band: float
    source_hash: str | None = None


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
    p = simulate(task.base, varied, seeds, task.engine, task.band)
    cols = runs_columns(p, run, seeds, varied)
    cols = {"run": cols.pop("run"), "design_point": task.design_point, "replicate": task.replicate, **cols}
    agents = agents_arrow(p, run, task.variables) if task.paths else None
    return ChunkResult(task.index, len(run), pa.table(cols), agents)


def run_chunk(task: ChunkTask) -> ChunkResult:
    """Compute one chunk (on a worker) and encode its tables as Parquet bytes, ready to write.

    Raises:
        ClusterError: this worker's model code or data differ from the client's (``task.source_hash``):
            its tables would not be the sweep's.
    """
    if task.source_hash is not None:
        mine = _worker_source_hash()
        if mine != task.source_hash:
            raise ClusterError(
                f"The Dask worker on {socket.gethostname()} has other model code or data than the machine running "
                f"the sweep (code and data hash {mine[:12]} there, {task.source_hash[:12]} here), so its runs would "
                f"differ; install the same version of the package and its model/data on every worker, then finish "
                f"the sweep with --resume.")
    r = chunk_tables(task)
    return ChunkResult(r.index, r.n_runs, store.encode_parquet(r.runs),
                       None if r.agents is None else store.encode_parquet(r.agents))


def chunk_tasks(exp: Experiment, chunk_size: int, indices: Iterable[int], engine: str,
                source: str | None = None) -> Iterator[ChunkTask]:
    """Tasks for the given chunk numbers (lazily: the design is sliced as tasks are sent); ``source``: the
    :func:`source_hash` workers must have."""
    points = exp.points
    band = ensemble_band(exp.base)
    for index in indices:
        start = index * chunk_size
        stop = min(start + chunk_size, exp.n_runs)
        run, point, rep = exp.run_index(start, stop)
        varied = {c: points[c].to_numpy()[point] for c in points.columns}
        yield ChunkTask(index, start, stop, exp.base, varied, point, rep, exp.root_seed, exp.seed_list,
                        engine, exp.variables, exp.keep_paths, band, source)


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells, else the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_chunk_size(n_runs: int, workers: int | None) -> int:
    """About eight chunks per worker (load balance, progress, resume granularity), within bounds."""
    per = -(-n_runs // (8 * max(1, workers or 1)))
    return int(min(MAX_CHUNK, max(MIN_CHUNK, per)))


def default_out(experiment_path: str | Path) -> Path:
    return Path("results") / Path(experiment_path).stem


def run_in_memory(exp: Experiment, engine: str = "fast",
                  chunk_size: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Every run of an experiment in this process, as a sweep computes them, without a result folder.

    The chunks are the ones :func:`run_sweep` would compute (same tasks, seeds and columns), so the
    tables equal, bit for bit, the ``runs`` and ``agents`` tables of a sweep folder of ``exp``.

    Returns:
        ``(runs, agents)``; ``agents`` is None when the experiment keeps no paths.
    """
    if engine not in ENGINES:
        raise ParameterError(f"The '--engine' option must be one of {', '.join(map(repr, ENGINES))}. "
                             f"Got {engine!r} instead.")
    chunk_size = chunk_size or default_chunk_size(exp.n_runs, None)
    n_chunks = -(-exp.n_runs // chunk_size)
    results = [chunk_tables(t) for t in chunk_tasks(exp, chunk_size, range(n_chunks), engine)]
    runs = pa.concat_tables([r.runs for r in results]).to_pandas()
    agents = pa.concat_tables([r.agents for r in results]).to_pandas() if exp.keep_paths else None
    return runs, agents


# --- the sweep ---------------------------------------------------------------------------------------

def run_sweep(experiment_path: str | Path, out: str | Path | None = None, workers: int | None = None,
              scheduler: str | None = None, resume: bool = False, engine: str = "fast",
              chunk_size: int | None = None, progress: bool = True, timeout: float = DEFAULT_TIMEOUT,
              force: bool = False) -> Path:
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
        timeout: seconds to wait on a Dask cluster: for the scheduler to answer, for a first worker, for a
            worker after all were lost (see :func:`executor`).
        force: allow more ``workers`` than this machine has cores (each is a process of its own).

    Returns:
        The result folder.

    Raises:
        ParameterError: invalid experiment file or options; ResumeError: ``out`` holds another or
            a changed sweep, nothing to resume from, or another sweep is writing to it; OutputError:
            ``out`` cannot be written; ClusterError: the Dask cluster cannot run the sweep.
        KeyboardInterrupt: Ctrl-C; its message says how many chunks are done and how to resume.
    """
    if engine not in ENGINES:
        raise ParameterError(f"The '--engine' option must be one of {', '.join(map(repr, ENGINES))}. "
                             f"Got {engine!r} instead.")
    if workers is not None and scheduler is not None:
        raise ParameterError(f"Give either '--workers' or '--scheduler', not both. Got {workers!r} and "
                             f"{scheduler!r}.")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"The '--workers' option must be an integer >= 1. Got {workers!r} instead.")
    if workers is not None and workers > (cores := available_cores()) and not force:
        raise ParameterError(f"The '--workers' option must be at most the {cores} core(s) of this machine (each "
                             f"worker is a process). Got {workers} instead; add --force to start more anyway.")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise ParameterError(f"The '--timeout' option must be a number of seconds > 0. Got {timeout!r} instead.")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ParameterError(f"The '--chunk-size' option must be an integer >= 1. Got {chunk_size!r} instead.")
    path = Path(experiment_path)
    exp = load_experiment(path)
    out = Path(out) if out is not None else default_out(path)
    check_writable(out)
    hashes = {"experiment_hash": file_hash(path), "params_hash": params_hash(exp.base),
              "design_hash": design_hash(exp.points), "code_hash": code_hash(), "data_hash": data_hash()}
    created = not out.exists()
    # Refuse what can be refused before touching the folder (a refused sweep leaves nothing behind, not
    # even a lock file); the same checks run again under the lock, where they decide. Hashing the done
    # chunks' files waits for the lock: it reads the whole result, and the lock file goes when it ends.
    if out.is_dir():
        _existing_manifest(out, resume, hashes, path, check_files=False)
    try:
        with store.sweep_lock(out):
            _sweep(exp, path, out, hashes, workers, scheduler, resume, engine, chunk_size, progress, timeout)
    except LockedError:
        raise  # the folder is another sweep's: touch nothing
    except BaseException:
        if created:  # failed before its manifest (e.g. no scheduler): leave no folder behind
            store.remove_if_empty(out)
        raise
    return out


def _sweep(exp: Experiment, path: Path, out: Path, hashes: dict[str, str], workers: int | None,
           scheduler: str | None, resume: bool, engine: str, chunk_size: int | None, progress: bool,
           timeout: float) -> None:
    """The sweep proper, under the folder's lock."""
    manifest = _existing_manifest(out, resume, hashes, path)
    if manifest is not None:
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
    try:
        with executor(workers, scheduler, timeout) as compute:
            # The manifest first: a folder without one is never more than a kill can leave before it.
            store.remove_temporaries(out)
            store.write_manifest(manifest, out)
            store.prepare_chunk_dirs(out, ("runs", "agents") if exp.keep_paths else ("runs",))
            with _progress(exp.n_runs, done_runs, progress, exp.name) as bar, \
                    ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweep-writer") as writer:

                def finish(result: ChunkResult) -> None:
                    # The chunk's files are synced before the manifest says done, with their sha256 (a resume
                    # checks them).
                    sha = store.write_chunk(out, result.index, {"runs": result.runs, "agents": result.agents})
                    manifest["chunks"][chunk_key(result.index)].update(done=True, sha256=sha)
                    store.write_manifest(manifest, out)
                    bar.update(result.n_runs)

                # Encoding and writing a chunk (pyarrow, without the GIL) overlap the computation of
                # the next one; one chunk at most waits, so memory stays flat and chunks are marked
                # done one at a time, in the order they were written.
                writing = None
                for result in compute(chunk_tasks(exp, chunk_size, pending, engine,
                                                  _source(hashes) if workers or scheduler else None)):
                    if writing is not None:
                        writing.result()
                    writing = writer.submit(finish, result)
                if writing is not None:
                    writing.result()
    except WriteError as exc:
        raise OutputError(" ".join(filter(None, (str(exc), _stopped(manifest, out, path))))) from None
    except ClusterError as exc:
        raise ClusterError(" ".join(filter(None, (str(exc), _stopped(manifest, out, path))))) from None
    except KeyboardInterrupt:
        raise KeyboardInterrupt(_stopped(manifest, out, path)) from None


def _stopped(manifest: dict[str, Any], out: Path, path: Path) -> str:
    """What a stopped sweep left and how to finish it, for the one-line message ("" before its manifest:
    then nothing is left)."""
    if not store.has_manifest(out):
        return ""
    done = sum(bool(c["done"]) for c in manifest["chunks"].values())
    return (f"The sweep in {str(out)!r} stopped with {done} of {len(manifest['chunks'])} chunks done; finish it "
            f"with 'armsrace sweep {path} --out {out} --resume'.")


# What each recorded hash covers, for the one-line refusal to resume.
_HASHES = {
    "experiment_hash": "The experiment file {file!r}",
    "params_hash": "The base parameters (base scenario file, [fixed] or model/data/defaults.toml)",
    "design_hash": "The design points (another SALib / SciPy version samples other LHS / Sobol points)",
    "code_hash": "The model's code (model/**/*.py)",
    "data_hash": "The model data (model/data/*)",
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
    """sha256 of the model's data files (every file of ``model/data/``, by name)."""
    return _files_hash(DATA_DIR, sorted(p for p in DATA_DIR.iterdir() if p.is_file()))


def code_hash() -> str:
    """sha256 of the package's sources (``model/**/*.py``, by path): any change to the code, including one
    the git commit does not show (an uncommitted edit, a copy installed elsewhere), changes it."""
    return _files_hash(PACKAGE_DIR, sorted(p for p in PACKAGE_DIR.rglob("*.py") if "__pycache__" not in p.parts))


def _files_hash(root: Path, files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f"\0{f.relative_to(root).as_posix()}\0".encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _source(hashes: dict[str, str]) -> str:
    """The code and data hash in one (what a worker must share with the client)."""
    return hashlib.sha256(f"{hashes['code_hash']}\0{hashes['data_hash']}".encode()).hexdigest()


def source_hash() -> str:
    """This process's :func:`code_hash` and :func:`data_hash` in one."""
    return _source({"code_hash": code_hash(), "data_hash": data_hash()})


@functools.cache
def _worker_source_hash() -> str:
    """A worker's :func:`source_hash`, computed once: the code it loaded when it first ran a chunk."""
    return source_hash()


def new_manifest(exp: Experiment, path: Path, hashes: dict[str, str], chunk_size: int,
                 engine: str) -> dict[str, Any]:
    """The manifest of a new sweep, every chunk pending (``hashes``: experiment, params, design, data)."""
    chunks = {}
    for index, (start, stop) in enumerate(store.chunk_ranges(exp.n_runs, chunk_size)):
        chunks[chunk_key(index)] = {"runs": [start, stop], "done": False}
    return metadata(
        experiment_file=str(path), **{k: hashes[k] for k in _HASHES}, experiment=exp.content,
        base_scenario=exp.base_scenario, design=exp.design_record(), replicates=exp.replicates,
        n_runs=exp.n_runs, chunk_size=chunk_size, seeds=exp.seeds_record(), engine=engine,
        agent_units=UNITS, chunks=chunks)


def _existing_manifest(out: Path, resume: bool, hashes: dict[str, str], path: Path,
                       check_files: bool = True) -> dict[str, Any] | None:
    """The manifest to resume from (checked to be the same sweep), or None for a fresh sweep; refuses to
    mix sweeps. ``check_files``: also check every done chunk's files against their recorded hashes."""
    has_manifest = store.has_manifest(out)
    foreign = store.first_foreign(out) if out.is_dir() else None
    non_empty = foreign is not None
    if resume:
        if has_manifest:
            manifest = store.read_manifest(out)
            store.check_manifest(manifest, out)
            _check_same_sweep(manifest, hashes, path, out)
            if check_files:
                store.check_done_chunks(manifest, out)
            return manifest
        if non_empty:
            raise ResumeError(f"The '--out' folder {str(out)!r} holds no sweep to resume (no {MANIFEST}) "
                              f"and is not empty (it holds {foreign.name!r}); choose another --out.")
        return None
    if has_manifest:
        raise ResumeError(f"The '--out' folder {str(out)!r} already holds a sweep; use --resume to "
                          f"finish it, or choose another --out.")
    if non_empty:
        raise ResumeError(f"The '--out' folder {str(out)!r} is not empty (it holds {foreign.name!r}, which no sweep "
                          f"wrote); a sweep writes only into a new or empty folder: choose another --out.")
    return None


@contextlib.contextmanager
def executor(workers: int | None, scheduler: str | None, timeout: float = DEFAULT_TIMEOUT
             ) -> Iterator[Callable[[Iterator[ChunkTask]], Iterator[ChunkResult]]]:
    """A function mapping chunk tasks to results (in completion order), on the chosen resources.

    In-process when neither ``workers`` nor ``scheduler`` is given; else a Dask LocalCluster of
    ``workers`` single-threaded processes, or the existing cluster at ``scheduler``. The cluster
    is connected on entry, so an unreachable scheduler fails before anything is written.

    ``timeout`` (seconds) bounds every wait on a cluster: for the scheduler to answer as a Dask
    scheduler (an HTTP server, the dashboard port or a silent listener does not), for a first worker,
    and, during the sweep, for a worker to come back once the scheduler has none left.

    Raises:
        ClusterError: the scheduler cannot be reached or is not a Dask scheduler, it has no worker within
            ``timeout``, or all its workers were lost for ``timeout`` (one line each).
    """
    if workers is None and scheduler is None:
        yield lambda tasks: (chunk_tables(t) for t in tasks)
        return
    from dask.distributed import Client, LocalCluster

    if scheduler is not None:
        probe_scheduler(scheduler, timeout)
        client = _connect(scheduler, timeout)
        with client:
            try:
                client.wait_for_workers(1, timeout=timeout)
            except TimeoutError:
                raise ClusterError(f"The Dask scheduler at {scheduler!r} has no workers (waited {timeout:g} s, "
                                   f"--timeout); start some with 'dask worker {scheduler}', or use --workers N for "
                                   f"a cluster on this machine.") from None
            yield lambda tasks: _distributed(client, tasks, timeout, scheduler)
        return
    with _workers_ignore_ctrl_c():
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.CRITICAL, preload=["model.batch.worker"])
    with cluster, Client(cluster) as client:
        yield lambda tasks: _distributed(client, tasks, timeout, "the local cluster")


def probe_scheduler(address: str, timeout: float) -> None:
    """Check that a ``tcp://`` address is a Dask scheduler before Dask connects to it (Dask itself waits
    forever for the handshake of something that accepts connections but is not a scheduler).

    A Dask scheduler sends its handshake (a msgpack frame naming its pickle protocol) as soon as it
    accepts a connection; an HTTP server (the dashboard, 8787) waits for a request, a silent listener
    for ever. Other schemes (``tls://``, ``inproc://``) are left to Dask.

    Raises:
        ClusterError: the host cannot be resolved, the port refuses, or no Dask handshake comes within
            ``timeout`` seconds (one line each).
    """
    scheme, sep, location = address.partition("://")
    if not sep:
        scheme, location = "tcp", address
    if scheme != "tcp":
        return
    host, _, port = location.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit():
        raise ClusterError(f"The '--scheduler' address must look like tcp://HOST:PORT. Got {address!r} instead.")
    where = f"The '--scheduler' address {address!r}"
    try:
        sock = socket.create_connection((host, int(port)), timeout=timeout)
    except socket.gaierror as exc:
        raise ClusterError(f"{where} cannot be resolved: {exc.strerror or exc}.") from None
    except TimeoutError:
        raise ClusterError(f"{where} cannot be reached: no answer within {timeout:g} s (--timeout).") from None
    except OSError as exc:
        raise ClusterError(f"{where} cannot be reached: {exc.strerror or exc}.") from None
    received = b""
    deadline = time.monotonic() + timeout
    with sock:
        try:
            while b"pickle-protocol" not in received and (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                data = sock.recv(4096)
                if not data:
                    break
                received += data
        except (TimeoutError, OSError):
            pass
    if b"pickle-protocol" not in received:
        how = "closed the connection" if time.monotonic() < deadline else f"sent nothing within {timeout:g} s"
        raise ClusterError(f"{where} is not a Dask scheduler: it accepts connections but {how} instead of Dask's "
                           f"handshake (a scheduler listens on 8786 by default, its dashboard on 8787; one secured "
                           f"with TLS is addressed as tls://HOST:PORT).")


TLS_SETTINGS = ("distributed.comm.tls.ca-file", "distributed.comm.tls.client.cert", "distributed.comm.tls.client.key")
"""Dask's settings a client needs for a ``tls://`` scheduler (environment: ``DASK_DISTRIBUTED__COMM__TLS__CA_FILE``,
``..._TLS__CLIENT__CERT``, ``..._TLS__CLIENT__KEY``; see README, "Running on a cluster")."""


def _connect(address: str, timeout: float):
    """A Dask Client of the scheduler at ``address``, or a one-line ClusterError within about ``timeout``.

    Dask bounds the connection but not the handshake after it; a watchdog ends a connection that is
    still not made a second after ``timeout`` (by interrupting this, the main, thread).
    """
    import _thread

    import dask
    from dask.distributed import Client

    where = f"The '--scheduler' address {address!r}"
    if address.startswith("tls://"):
        missing = [key for key in TLS_SETTINGS if not dask.config.get(key, None)]
        if missing:
            raise ClusterError(f"{where} is a TLS address, but Dask's TLS settings for this client are missing "
                               f"({', '.join(missing)}; e.g. DASK_DISTRIBUTED__COMM__TLS__CA_FILE=ca.pem): see the "
                               f"README, 'Running on a cluster'.")
    state, lock = {"done": False, "fired": False}, threading.Lock()

    def expire() -> None:
        with lock:
            if not state["done"]:
                state["fired"] = True
                _thread.interrupt_main()

    watchdog = threading.Timer(timeout + 1, expire)
    watchdog.daemon = True
    if threading.current_thread() is threading.main_thread():
        watchdog.start()
    try:
        try:
            return Client(address, timeout=f"{timeout}s")
        finally:
            with lock:
                state["done"] = True
            watchdog.cancel()
    except KeyboardInterrupt:
        if not state["fired"]:
            raise
        raise ClusterError(f"{where} did not complete Dask's handshake within {timeout:g} s (--timeout); is it a "
                           f"Dask scheduler, with the same TLS settings?") from None
    except (OSError, TimeoutError, ValueError, TypeError) as exc:  # TypeError: Dask's word for bad TLS settings
        raise ClusterError(f"{where} cannot be reached: {_first_line(exc)}.") from None


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start the local cluster's processes ignoring Ctrl-C, so that Ctrl-C to the whole process group is
    handled by this process alone (which stops them) instead of each worker printing a traceback.

    SIGINT is ignored here while the cluster starts (an ignored signal stays ignored in the processes
    started meanwhile, across exec; a Ctrl-C in these one or two seconds is lost), and each worker
    ignores it from its set-up on (:mod:`model.batch.worker`, for workers restarted later).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _distributed(client, tasks: Iterator[ChunkTask], timeout: float, where: str) -> Iterator[ChunkResult]:
    """Keep a bounded number of chunks in flight (flat memory), yield them as they complete.

    While nothing completes, the scheduler is asked how many workers it has; none for ``timeout``
    seconds (all lost) ends the sweep with a ClusterError, leaving the chunks done so far marked done.
    """
    from dask.distributed import wait

    n_threads = max(1, sum(client.nthreads().values()))
    in_flight = 2 * n_threads
    pending = {}
    for task in tasks:
        pending[client.submit(run_chunk, task, pure=False)] = task.index
        if len(pending) >= in_flight:
            break
    poll = max(0.05, min(1.0, timeout / 4))
    alone_since = None
    while pending:
        try:
            done = wait(list(pending), timeout=poll, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            done = set()
        if not done:
            try:
                n_workers = len(client.nthreads())
            except (OSError, TimeoutError) as exc:
                raise ClusterError(f"The connection to the Dask scheduler of {where} was lost "
                                   f"({_first_line(exc)}).") from None
            alone_since = None if n_workers else (alone_since or time.monotonic())
            if alone_since is not None and time.monotonic() - alone_since > timeout:
                raise ClusterError(f"All workers of {where} were lost: none for {timeout:g} s (--timeout) with "
                                   f"{len(pending)} chunk(s) waiting.")
            continue
        alone_since = None
        for future in done:
            index = pending.pop(future)
            result = _result(future, index, where)
            future.release()
            nxt = next(tasks, None)
            if nxt is not None:
                pending[client.submit(run_chunk, nxt, pure=False)] = nxt.index
            yield result


def _result(future, index: int, where: str) -> ChunkResult:
    """A finished task's chunk; a chunk the cluster could not compute (its workers kept dying, or it was
    cancelled) is a one-line ClusterError; our own errors pass as they are."""
    from dask.distributed import CancelledError
    from distributed.scheduler import KilledWorker

    try:
        return future.result()
    except (KilledWorker, CancelledError, OSError) as exc:
        raise ClusterError(f"Chunk {chunk_key(index)} could not be computed on {where}: {type(exc).__name__}: "
                           f"{_first_line(exc)}.") from None


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


__all__ = ["run_sweep", "run_chunk", "run_in_memory", "default_out"]
