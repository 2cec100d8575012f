"""``armsrace sweep``: result format, determinism across engines/workers/schedulers, resume, rejections."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import helpers
import numpy as np
import pandas as pd
import pytest

from model.batch.engine import run_batch
from model.batch.experiments import load_experiment
from model.batch.store import read_agents, read_manifest, read_runs
from model.batch.sweep import run_sweep
from model.cli import main
from model.sim.outcomes import summarise
from model.sim.params import COUNTRIES
from model.sim.units import UNITS

SMALL = """
# 3 x 2 grid, 3 noisy replicates: 18 runs
[experiment]
description = "test sweep"
base = "baseline"
until = 2034
[fixed]
threat_noise = 0.1
budget_noise = 0.05
[parameters]
us_demand = [0.02, 0.035, 0.05]
alliance_credibility = { low = 0.3, high = 0.9, steps = 2 }
[replicates]
count = 3
root_seed = 99
"""


@pytest.fixture
def sweep_small(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def cli(*args) -> int:
    return main(["sweep", *map(str, args), "--quiet"])


def tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return read_runs(out), read_agents(out)


def assert_same_results(a: Path, b: Path) -> None:
    ra, aa = tables(a)
    rb, ab = tables(b)
    pd.testing.assert_frame_equal(ra, rb, check_exact=True)
    pd.testing.assert_frame_equal(aa, ab, check_exact=True)


def test_result_format(sweep_small, tmp_path, capsys):
    out = tmp_path / "res"
    assert cli(sweep_small, "--out", out, "--chunk-size", 5) == 0
    assert "18 runs" in capsys.readouterr().out
    m = read_manifest(out)
    for key in ("experiment_file", "experiment_hash", "experiment", "base_scenario", "design", "replicates",
                "n_runs", "chunk_size", "seeds", "engine", "versions", "code", "created_utc", "chunks"):
        assert key in m, key
    assert m["experiment_hash"] == hashlib.sha256(sweep_small.read_bytes()).hexdigest()
    assert m["design"] == {"kind": "grid", "varied": ["us_demand", "alliance_credibility"], "n_points": 6}
    assert (m["replicates"], m["n_runs"], m["chunk_size"], m["seeds"], m["engine"]) == (3, 18, 5, {"root": 99}, "fast")
    assert m["agent_units"] == UNITS  # the agent tables' units
    assert {k: (c["runs"], c["done"]) for k, c in m["chunks"].items()} == {
        "00000": ([0, 5], True), "00001": ([5, 10], True), "00002": ([10, 15], True), "00003": ([15, 18], True)}
    for key, c in m["chunks"].items():  # each chunk's files, by their sha256 (a resume checks them)
        assert c["sha256"] == {sub: hashlib.sha256((out / sub / f"chunk-{key}.parquet").read_bytes()).hexdigest()
                               for sub in ("runs", "agents")}
    assert m["experiment"]["parameters"]["alliance_credibility"] == {"low": 0.3, "high": 0.9,
                                                                    "distribution": "uniform", "steps": 2}
    assert sorted(p.name for p in (out / "runs").iterdir()) == [f"chunk-0000{i}.parquet" for i in range(4)]
    runs, agents = tables(out)
    outcome_cols = list(summarise(np.arange(3), COUNTRIES, *(np.ones((3, 7)),) * 4, np.ones(7)))
    assert list(runs.columns) == ["run", "design_point", "replicate", "seed", "us_demand", "alliance_credibility",
                                  *outcome_cols]
    assert outcome_cols[-1] == "stability_radius"
    assert runs.run.tolist() == list(range(18))
    np.testing.assert_array_equal(runs.run, runs.design_point * 3 + runs.replicate)
    expected_seeds = [c.generate_state(1)[0] for c in np.random.SeedSequence(99).spawn(18)]
    assert runs.seed.tolist() == expected_seeds
    assert runs.us_demand.tolist() == [0.02] * 6 + [0.035] * 6 + [0.05] * 6
    assert runs.alliance_credibility.tolist()[:6] == [0.3] * 3 + [0.9] * 3
    assert runs.escalation.map(type).eq(str).all() and runs.escalation_code.dtype == np.int64
    assert list(agents.columns) == ["run", "year", "country", "burden", "spending", "gdp", "capability",
                                    "threat", "pressure", "backlash"]
    assert len(agents) == 18 * 11 * 7 and agents.country.iloc[:7].tolist() == list(COUNTRIES)
    assert (agents.drop(columns=["run", "year", "country"]).dtypes == np.float64).all()
    # same numbers as one in-memory batch of the whole design
    exp = load_experiment(sweep_small)
    run, point, rep = exp.run_index(0, 18)
    varied = {c: exp.points[c].to_numpy()[point] for c in exp.points.columns}
    mem_runs, mem_agents = run_batch(exp.base, varied, exp.seeds(run, rep), run_ids=run)
    pd.testing.assert_frame_equal(runs.drop(columns=["design_point", "replicate"]), mem_runs, check_exact=True)
    pd.testing.assert_frame_equal(agents, mem_agents, check_exact=True)


def test_keep_only_some_variables_or_no_paths(sweep_small, tmp_path):
    sweep_small.write_text(SMALL + '[keep]\nvariables = ["threat", "burden"]\n')
    run_sweep(sweep_small, tmp_path / "a", progress=False)
    assert list(read_agents(tmp_path / "a").columns) == ["run", "year", "country", "burden", "threat"]
    sweep_small.write_text(SMALL + "[keep]\npaths = false\n")
    run_sweep(sweep_small, tmp_path / "b", progress=False)
    assert not (tmp_path / "b" / "agents").exists() and len(read_runs(tmp_path / "b")) == 18


def test_same_results_whatever_engine_chunking_workers_or_scheduler(sweep_small, tmp_path):
    from dask.distributed import LocalCluster

    ref = tmp_path / "inproc"
    assert cli(sweep_small, "--out", ref) == 0
    assert cli(sweep_small, "--out", tmp_path / "mesa", "--engine", "mesa", "--chunk-size", 7) == 0
    assert cli(sweep_small, "--out", tmp_path / "w1", "--workers", 1, "--chunk-size", 4) == 0
    assert cli(sweep_small, "--out", tmp_path / "w2", "--workers", 2, "--chunk-size", 3) == 0
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                      processes=True) as cluster:
        assert cli(sweep_small, "--out", tmp_path / "sched", "--scheduler", cluster.scheduler_address,
                   "--chunk-size", 5) == 0
    for other in ("mesa", "w1", "w2", "sched"):
        assert_same_results(ref, tmp_path / other)
    assert len(read_manifest(tmp_path / "w2")["chunks"]) == 6
    assert read_runs(ref).run.is_unique


RESUMABLE = """
[experiment]
base = "baseline"
until = 2035
[fixed]
threat_noise = 0.05
[parameters]
us_demand = { low = 0.02, high = 0.05, steps = 40 }
threat_sensitivity_chn = [0.0, 0.005, 0.01]
[replicates]
count = 3
root_seed = 5
"""


def start_sweep(path: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "model.cli", "sweep", str(path), "--out", str(out), "--quiet",
                             *extra], cwd=path.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_killed_sweep_resumes_to_identical_tables(tmp_path):
    path = tmp_path / "resumable.toml"
    path.write_text(RESUMABLE)
    out = tmp_path / "killed"
    # 360 runs through Mesa in chunks of 12: a few seconds, 30 chunks to kill in the middle of
    proc = start_sweep(path, out, "--engine", "mesa", "--chunk-size", "12")
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            done = sum(c["done"] for c in json.loads((out / "manifest.json").read_text())["chunks"].values())
        except (OSError, ValueError):
            done = 0
        if done >= 2:
            break
        time.sleep(0.02)
    time.sleep(0.07)   # somewhere inside the next chunk or its writes
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    manifest = read_manifest(out)
    finished = [k for k, c in manifest["chunks"].items() if c["done"]]
    pending = [k for k, c in manifest["chunks"].items() if not c["done"]]
    assert len(finished) >= 2 and pending, "the sweep should have been killed mid-way"
    # what a kill can leave: a half-written temporary file, a renamed chunk not yet marked done
    (out / "runs" / f".chunk-{pending[0]}.parquet.123.tmp").write_bytes(b"half")
    (out / "agents" / f"chunk-{pending[-1]}.parquet").write_bytes(b"not parquet")

    assert cli(path, "--out", out, "--resume") == 0
    assert not list((out / "runs").glob("*.tmp")) and not list((out / "agents").glob("*.tmp"))
    assert all(c["done"] for c in read_manifest(out)["chunks"].values())

    fresh = tmp_path / "fresh"
    assert cli(path, "--out", fresh) == 0
    assert_same_results(out, fresh)
    runs = read_runs(out)
    assert runs.run.tolist() == list(range(360)) and read_agents(out).groupby("run").size().eq(12 * 7).all()


def test_resume_of_a_finished_sweep_does_nothing(sweep_small, tmp_path):
    out = tmp_path / "r"
    run_sweep(sweep_small, out, progress=False)
    before = {p: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    run_sweep(sweep_small, out, resume=True, progress=False)
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").iterdir()} == before


def test_resume_with_changed_experiment_is_refused(sweep_small, tmp_path, capsys):
    out = tmp_path / "r"
    assert cli(sweep_small, "--out", out) == 0
    sweep_small.write_text(SMALL.replace("count = 3", "count = 4"))
    capsys.readouterr()
    assert cli(sweep_small, "--out", out, "--resume") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "changed" in err and "small.toml" in err and "--resume" in err
    assert read_manifest(out)["n_runs"] == 18


def test_existing_sweep_is_not_overwritten_without_resume(sweep_small, tmp_path, capsys):
    out = tmp_path / "r"
    assert cli(sweep_small, "--out", out) == 0
    capsys.readouterr()
    assert cli(sweep_small, "--out", out) == 2
    err = capsys.readouterr().err
    assert "--resume" in err and "--out" in err and str(out) in err
    # a chunk size other than the sweep's own cannot resume it
    assert cli(sweep_small, "--out", out, "--resume", "--chunk-size", 2) == 2
    assert "chunk-size" in capsys.readouterr().err


def test_default_out_is_results_stem_in_cwd(sweep_small, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_sweep(sweep_small, progress=False) == Path("results") / "small"
    assert (tmp_path / "results" / "small" / "manifest.json").is_file()


BAD_FILES = [
    ("unknown parameter", "[parameters]\nus_demandd = [0.02]\n", "parameters.us_demandd"),
    ("empty range", "[parameters]\nus_demand = { low = 0.03, high = 0.03, steps = 2 }\n", "empty"),
    ("empty list", "[parameters]\nus_demand = []\n", "must not be empty"),
    ("lower > upper", "[parameters]\nus_demand = { low = 0.05, high = 0.02, steps = 2 }\n", "low > high"),
    ("unknown design", '[parameters]\nus_demand = [0.02]\n[design]\nkind = "morris"\n', "'morris'"),
    ("zero replicates", "[parameters]\nus_demand = [0.02]\n[replicates]\ncount = 0\n", "replicates.count"),
    ("malformed TOML", "[parameters]\nus_demand = [0.02\n", "not valid TOML"),
]


@pytest.mark.parametrize("case,text,fragment", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_experiment_file_through_cli(tmp_path, capsys, case, text, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out = tmp_path / "out"
    assert cli(path, "--out", out) == 2
    err = capsys.readouterr().err
    assert err.startswith("armsrace sweep: error: ") and err.count("\n") == 1
    assert "bad.toml" in err and fragment in err
    assert not out.exists()


@pytest.mark.parametrize("data", [b"[parameters]\nus_demand = [0.02] # \xb5\n", b"\x00\x01\xff\xfe binary"],
                         ids=["latin1", "binary"])
def test_experiment_file_that_is_not_utf8_through_cli(tmp_path, capsys, data):
    path = tmp_path / "bad.toml"
    path.write_bytes(data)
    out = tmp_path / "out"
    assert cli(path, "--out", out) == 2
    err = capsys.readouterr().err
    assert err.startswith("armsrace sweep: error: The experiment file ") and err.count("\n") == 1
    assert str(path) in err and "not UTF-8 text" in err
    assert not out.exists()


def test_bad_options_through_cli(sweep_small, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli(sweep_small, "--out", out, "--workers", 0) == 2
    assert "'--workers'" in capsys.readouterr().err
    assert cli(sweep_small, "--out", out, "--workers", 2, "--scheduler", "tcp://127.0.0.1:1") == 2
    assert "not both" in capsys.readouterr().err
    assert cli(sweep_small, "--out", out, "--chunk-size", 0) == 2
    assert not out.exists()
    (out / "x").mkdir(parents=True)
    assert cli(sweep_small, "--out", out) == 2
    assert "not empty" in capsys.readouterr().err


# --- resume only the same sweep; one sweep per folder; early kills ------------------------------------

BASED = SMALL.replace('base = "baseline"', 'base = "mine.toml"')
MINE = '[scenario]\ndescription = "base next to the experiment"\n[parameters]\nus_insistence = 1.5\n'


def _undo_chunk(out: Path, key: str = "00001") -> None:
    """What a kill leaves: one chunk not marked done."""
    m = read_manifest(out)
    m["chunks"][key]["done"] = False
    (out / "manifest.json").write_text(json.dumps(m))


def test_manifest_records_parameter_design_and_data_hashes(sweep_small, tmp_path):
    from model.batch.sweep import code_hash, data_hash, design_hash, params_hash

    out = run_sweep(sweep_small, tmp_path / "r", progress=False)
    m = read_manifest(out)
    exp = load_experiment(sweep_small)
    assert m["params_hash"] == params_hash(exp.base) and len(m["params_hash"]) == 64
    assert m["design_hash"] == design_hash(exp.points) and m["data_hash"] == data_hash()
    assert m["code_hash"] == code_hash() and len(m["code_hash"]) == 64
    assert params_hash(exp.base.replace(us_insistence=1.5)) != m["params_hash"]
    other = exp.points.copy()
    other.iloc[0, 0] = 0.021
    assert design_hash(other) != m["design_hash"]


def test_resume_with_changed_base_scenario_file_is_refused(tmp_path, capsys):
    (tmp_path / "mine.toml").write_text(MINE)
    path = tmp_path / "based.toml"
    path.write_text(BASED)
    out = tmp_path / "r"
    assert cli(path, "--out", out, "--chunk-size", 5) == 0
    _undo_chunk(out)
    (tmp_path / "mine.toml").write_text(MINE.replace("1.5", "2.5"))  # the experiment file is unchanged
    capsys.readouterr()
    assert cli(path, "--out", out, "--resume") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "base parameters" in err and "changed" in err and str(out) in err
    assert not read_manifest(out)["chunks"]["00001"]["done"]  # nothing was written
    (tmp_path / "mine.toml").write_text(MINE)  # back as it was: the sweep resumes
    assert cli(path, "--out", out, "--resume") == 0
    assert all(c["done"] for c in read_manifest(out)["chunks"].values())


def test_resume_with_other_design_points_is_refused(tmp_path, monkeypatch, capsys):
    import model.batch.experiments as experiments

    path = tmp_path / "lhs.toml"
    path.write_text('[parameters]\nus_demand = { low = 0.02, high = 0.05 }\n[design]\nkind = "lhs"\n'
                    'samples = 12\nseed = 1\n[keep]\npaths = false\n')
    out = tmp_path / "r"
    assert cli(path, "--out", out, "--chunk-size", 4) == 0
    _undo_chunk(out)
    # another SciPy / SALib: the same file, other points
    original = experiments.sample
    monkeypatch.setattr(experiments, "sample", lambda exp: original(exp)[::-1].copy())
    capsys.readouterr()
    assert cli(path, "--out", out, "--resume") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "design points" in err and "SALib" in err


def test_folder_left_by_a_kill_before_the_first_manifest_counts_as_empty(sweep_small, tmp_path, monkeypatch):
    from model.batch import store

    out = tmp_path / "r"
    for sub in ("runs", "agents"):
        (out / sub).mkdir(parents=True)
    (out / "runs" / ".chunk-00000.parquet.77.tmp").write_bytes(b"half")
    (out / "manifest.json.77.tmp").write_text("{")
    (out / ".lock").touch()
    assert cli(sweep_small, "--out", out, "--resume") == 0  # nothing to resume: a fresh sweep
    assert all(c["done"] for c in read_manifest(out)["chunks"].values())
    assert not list(out.rglob("*.tmp"))
    # and a fresh sweep into such a folder is accepted as well
    out2 = tmp_path / "r2"
    (out2 / "runs").mkdir(parents=True)
    assert cli(sweep_small, "--out", out2) == 0
    assert_same_results(out, out2)
    # the manifest is written before runs/ and agents/ exist
    seen = []
    original = store.write_manifest
    monkeypatch.setattr(store, "write_manifest",
                        lambda m, o: (seen.append((o / "runs").exists() or (o / "agents").exists()), original(m, o)))
    run_sweep(sweep_small, tmp_path / "r3", progress=False)
    assert seen[0] is False and len(seen) > 1
    # a real result is never mistaken for leftovers
    (tmp_path / "r4" / "runs").mkdir(parents=True)
    (tmp_path / "r4" / "runs" / "chunk-00000.parquet").write_bytes(b"x")
    assert cli(sweep_small, "--out", tmp_path / "r4") == 2


def test_sweep_that_fails_before_its_manifest_leaves_no_folder(sweep_small, tmp_path, monkeypatch):
    import contextlib

    import model.batch.sweep as sweep
    from model.errors import ParameterError

    @contextlib.contextmanager
    def unreachable(workers, scheduler, timeout):
        raise ParameterError("The '--scheduler' address cannot be reached.")
        yield

    monkeypatch.setattr(sweep, "executor", unreachable)
    out = tmp_path / "new" / "r"
    with pytest.raises(ParameterError, match="'--scheduler'"):
        run_sweep(sweep_small, out, scheduler="tcp://127.0.0.1:1", progress=False)
    assert not out.exists()
    (tmp_path / "kept").mkdir()  # a folder that was there before is left (with at most its lock)
    with pytest.raises(ParameterError, match="'--scheduler'"):
        run_sweep(sweep_small, tmp_path / "kept", scheduler="tcp://127.0.0.1:1", progress=False)
    assert [p.name for p in (tmp_path / "kept").iterdir()] in ([], [".lock"])


LOCK_HOLDER = """
import sys, time
from model.batch.store import sweep_lock
with sweep_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_second_sweep_on_the_same_folder_is_refused_naming_the_holder(sweep_small, tmp_path, capsys):
    import socket

    out = tmp_path / "r"
    assert cli(sweep_small, "--out", out, "--chunk-size", 5) == 0
    assert not (out / ".lock").exists()  # a finished sweep leaves no lock file
    _undo_chunk(out)
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        capsys.readouterr()
        for _ in range(2):  # a refused sweep does not erase the holder's name
            assert cli(sweep_small, "--out", out, "--resume") == 2
            err = capsys.readouterr().err.strip()
            assert err.count("\n") == 0 and f"another armsrace sweep is writing to {str(out)!r}" in err
            assert f"pid {holder.pid} on {socket.gethostname()}" in err and "started 20" in err
        assert cli(sweep_small, "--out", out) == 2  # without --resume: refused before the lock is tried
        assert "already holds a sweep" in capsys.readouterr().err
        assert not read_manifest(out)["chunks"]["00001"]["done"]
        assert cli(sweep_small, "--out", tmp_path / "elsewhere") == 0  # other folders are not affected
    finally:
        holder.kill()
        holder.wait()
    assert cli(sweep_small, "--out", out, "--resume") == 0  # the lock died with its holder
    assert all(c["done"] for c in read_manifest(out)["chunks"].values())
    assert not (out / ".lock").exists()


STALE_HOLDER = """
import fcntl, json, os, socket, subprocess, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started_utc": "2025-01-01T00:00:00+00:00",
                         "command": "armsrace sweep x.toml"}).encode())
# a process the sweep started keeps the lock open after the sweep died
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], pass_fds=(fd,),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
"""


def test_a_stale_lock_is_explained(sweep_small, tmp_path, capsys):
    out = tmp_path / "r"
    out.mkdir()
    holder = subprocess.run([sys.executable, "-c", STALE_HOLDER, str(out / ".lock")], capture_output=True,
                            text=True, timeout=30, check=True)
    child = int(holder.stdout.strip())
    try:
        capsys.readouterr()
        assert cli(sweep_small, "--out", out) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "stale lock" in err and "no longer running" in err
        assert "2025-01-01" in err and str(out / ".lock") in err and "fuser" in err
        assert not (out / "manifest.json").exists()
    finally:
        os.kill(child, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the lock dies with the last process holding it
        if cli(sweep_small, "--out", out) == 0:
            break
        time.sleep(0.1)
    assert all(c["done"] for c in read_manifest(out)["chunks"].values())


def test_a_refused_sweep_leaves_no_lock_file(sweep_small, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    assert cli(sweep_small, "--out", mine) == 2  # not empty
    assert "notes.txt" in capsys.readouterr().err
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    out = tmp_path / "r"
    assert cli(sweep_small, "--out", out) == 0
    sweep_small.write_text(SMALL.replace("count = 3", "count = 2"))
    for extra in ((), ("--resume",)):  # holds a sweep / holds another sweep
        assert cli(sweep_small, "--out", out, *extra) == 2
        assert not (out / ".lock").exists()


NO_FCNTL = """
import sys
sys.modules["fcntl"] = None  # import fcntl fails, as on Windows
from model.cli import main
code = main(sys.argv[1:])
print("fcntl" in sys.modules and sys.modules["fcntl"] is not None, flush=True)
sys.exit(code)
"""


def test_help_and_sweeps_work_where_fcntl_does_not_exist(sweep_small, tmp_path):
    def without_fcntl(*args):
        return subprocess.run([sys.executable, "-c", NO_FCNTL, *map(str, args)], capture_output=True, text=True,
                              timeout=120)

    r = without_fcntl("--help")
    assert r.returncode == 0 and "usage: armsrace" in r.stdout, r.stderr
    out = tmp_path / "r"
    r = without_fcntl("sweep", sweep_small, "--out", out, "--quiet")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.splitlines()[-1] == "False"  # really without fcntl
    assert all(c["done"] for c in read_manifest(out)["chunks"].values()) and not (out / ".lock").exists()


def test_a_full_disk_stops_the_sweep_with_one_line_and_it_resumes(sweep_small, tmp_path, monkeypatch, capsys):
    from helpers import full_disk

    out = tmp_path / "r"
    opened = full_disk(monkeypatch, after=4)  # manifest, chunk 0 (runs, agents), manifest; then the disk is full
    assert cli(sweep_small, "--out", out, "--chunk-size", 5) == 2
    err = capsys.readouterr().err
    assert opened[4].name.startswith(".chunk-00001.parquet.")
    assert err == (f"armsrace sweep: error: The file {str(out / 'runs' / 'chunk-00001.parquet')!r} cannot be "
                   f"written: No space left on device. The sweep in {str(out)!r} stopped with 1 of 4 chunks done; "
                   f"finish it with 'armsrace sweep {sweep_small} --out {out} --resume'.\n")
    assert not list(out.rglob("*.tmp")) and not (out / ".lock").exists()
    assert [k for k, c in read_manifest(out)["chunks"].items() if c["done"]] == ["00000"]
    monkeypatch.undo()  # space again
    assert cli(sweep_small, "--out", out, "--resume") == 0
    assert cli(sweep_small, "--out", tmp_path / "fresh") == 0
    assert_same_results(out, tmp_path / "fresh")


# --- damaged result folders: say which file and what to do, never "finish" them -------------------------

def _damage_manifest(out: Path, case: str) -> None:
    m = read_manifest(out)
    if case == "list":
        m = [m]
    elif case == "no_chunks":
        del m["chunks"]
    elif case == "chunk_size_text":
        m["chunk_size"] = "5"
    elif case == "shifted_range":
        m["chunks"]["00001"]["runs"] = [5, 11]
    elif case == "missing_chunk":
        del m["chunks"]["00003"]
    elif case == "done_without_hashes":
        del m["chunks"]["00000"]["sha256"]
    (out / "manifest.json").write_text(json.dumps(m))


@pytest.mark.parametrize("case", ["list", "no_chunks", "chunk_size_text", "shifted_range", "missing_chunk",
                                  "done_without_hashes"])
def test_resume_of_a_manifest_of_the_wrong_shape_is_one_line(sweep_small, tmp_path, capsys, case):
    out = tmp_path / "r"
    assert cli(sweep_small, "--out", out, "--chunk-size", 5) == 0
    _undo_chunk(out)
    _damage_manifest(out, case)
    before = helpers.tree(out)
    capsys.readouterr()
    assert cli(sweep_small, "--out", out, "--resume") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"The manifest {str(out / 'manifest.json')!r} is damaged (" in err and "new --out" in err
    assert helpers.tree(out) == before  # nothing rewritten


@pytest.mark.parametrize("case", ["missing", "garbage", "swapped"])
def test_resume_refuses_a_done_chunk_that_is_missing_or_not_the_one_written(sweep_small, tmp_path, case):
    out = tmp_path / "r"
    assert cli(sweep_small, "--out", out, "--chunk-size", 5) == 0
    _undo_chunk(out, "00003")
    chunk = out / "agents" / "chunk-00001.parquet"
    if case == "missing":
        chunk.unlink()
    elif case == "garbage":
        chunk.write_bytes(b"PAR1 not a table")
    else:  # a valid table, but another chunk's
        chunk.write_bytes((out / "agents" / "chunk-00002.parquet").read_bytes())
    before = helpers.tree(out)
    res = helpers.armsrace("sweep", str(sweep_small), "--out", str(out), "--resume", "--quiet")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.startswith(f"armsrace sweep: error: The sweep in {str(out)!r} is damaged: {str(chunk)!r} ")
    assert ("is missing although manifest.json marks chunk 00001 done" if case == "missing"
            else "is not the chunk the sweep wrote") in res.stderr
    assert helpers.tree(out) == before  # not "finished", the manifest not rewritten


def test_resume_refuses_when_the_models_code_or_data_changed(tmp_path):
    """A clone whose code (or data) changes between the start and the resume: the git commit need not change."""
    copy = helpers.package_copy(tmp_path / "clone")
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    out = tmp_path / "r"
    res = helpers.armsrace_in(copy, "sweep", str(path), "--out", str(out), "--chunk-size", "5", "--quiet")
    assert res.returncode == 0, res.stderr
    _undo_chunk(out)
    for changed, what in (("model/sim/dynamics.py", "The model's code"), ("model/data/SOURCES.md", "The model data")):
        original = (copy / changed).read_bytes()
        (copy / changed).write_bytes(original + b"\n# an edit\n")
        res = helpers.armsrace_in(copy, "sweep", str(path), "--out", str(out), "--resume", "--quiet")
        assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
        assert f"{what}" in res.stderr and "changed since the sweep" in res.stderr
        assert not read_manifest(out)["chunks"]["00001"]["done"]
        (copy / changed).write_bytes(original)
    res = helpers.armsrace_in(copy, "sweep", str(path), "--out", str(out), "--resume", "--quiet")
    assert res.returncode == 0, res.stderr


def test_a_worker_with_other_code_or_data_refuses_the_chunks(tmp_path):
    """The client runs a clone whose data (or code) differ from the workers' (this process's): no table is written."""
    from dask.distributed import LocalCluster

    copy = helpers.package_copy(tmp_path / "clone")
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    (copy / "model" / "data" / "defaults.toml").write_bytes(
        (copy / "model" / "data" / "defaults.toml").read_bytes() + b"\n# another copy of the data\n")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        out = tmp_path / "r"
        res = helpers.armsrace_in(copy, "sweep", str(path), "--out", str(out), "--scheduler", cluster.scheduler_address,
                                  "--quiet")
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith("armsrace sweep: error: The Dask worker on ")
    assert "other model code or data" in res.stderr
    assert not any(c["done"] for c in read_manifest(out)["chunks"].values())
    assert not list((out / "runs").glob("*.parquet"))


# --- clusters that cannot run the sweep: one line within --timeout; Ctrl-C --------------------------

SLOW = RESUMABLE  # 360 runs; with --engine mesa --chunk-size 12 a few seconds, 30 chunks


class _Listener:
    """A TCP server in a thread that is not a Dask scheduler: an HTTP server, or a listener that never speaks."""

    def __init__(self, kind: str) -> None:
        import http.server
        import socket
        import threading

        if kind == "http":
            self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
            self.port = self.server.server_address[1]
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
        else:
            self.server = socket.create_server(("127.0.0.1", 0))
            self.port = self.server.getsockname()[1]
            self.accepted = []
            threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.accepted.append(self.server.accept()[0])  # and never answer
            except OSError:
                return

    def close(self) -> None:
        if hasattr(self.server, "serve_forever"):
            self.server.shutdown()
            self.server.server_close()
        else:
            self.server.close()


@pytest.mark.parametrize("kind", ["http", "silent"])
def test_a_scheduler_address_that_is_not_a_dask_scheduler_fails_within_the_timeout(sweep_small, tmp_path, kind):
    listener = _Listener(kind)
    try:
        out = tmp_path / "r"
        res = helpers.armsrace("sweep", str(sweep_small), "--out", str(out), "--quiet", "--timeout", "1",
                               "--scheduler", f"tcp://127.0.0.1:{listener.port}")
    finally:
        listener.close()
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert f"'tcp://127.0.0.1:{listener.port}' is not a Dask scheduler" in res.stderr
    assert not out.exists()


def test_a_tls_scheduler_without_the_clients_tls_settings_is_one_line(sweep_small, tmp_path, capsys, monkeypatch):
    for key in [k for k in os.environ if k.startswith("DASK_DISTRIBUTED__COMM__TLS")]:
        monkeypatch.delenv(key)
    assert cli(sweep_small, "--out", tmp_path / "r", "--scheduler", "tls://127.0.0.1:8786") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a TLS address, but Dask's TLS settings for this client are missing" in err
    assert "distributed.comm.tls.ca-file" in err and not (tmp_path / "r").exists()


def test_a_scheduler_without_workers_fails_within_the_timeout(sweep_small, tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None) as c:
        res = helpers.armsrace("sweep", str(sweep_small), "--out", str(tmp_path / "r"), "--quiet", "--timeout", "1",
                               "--scheduler", c.scheduler_address)
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert f"The Dask scheduler at {c.scheduler_address!r} has no workers (waited 1 s" in res.stderr
    assert not (tmp_path / "r").exists()


def _wait_for_done_chunks(proc: subprocess.Popen, out: Path, n: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if sum(c["done"] for c in json.loads((out / "manifest.json").read_text())["chunks"].values()) >= n:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise AssertionError(f"the sweep did not get to {n} chunks: {proc.poll()}")


def test_losing_all_workers_mid_sweep_fails_within_the_timeout_and_leaves_a_resumable_folder(tmp_path):
    """A real (threaded) LocalCluster whose only worker is removed while the sweep runs; the sweep is another
    process, as on a real cluster."""
    from dask.distributed import LocalCluster

    path = tmp_path / "slow.toml"
    path.write_text(SLOW)
    out = tmp_path / "r"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        proc = start_sweep(path, out, "--engine", "mesa", "--chunk-size", "12", "--timeout", "1",
                           "--scheduler", cluster.scheduler_address)
        _wait_for_done_chunks(proc, out, 1)
        cluster.scale(0)
        err = proc.communicate(timeout=120)[1].decode()
    assert proc.returncode == 2 and err.count("\n") == 1, err
    assert f"All workers of {cluster.scheduler_address} were lost: none for 1 s (--timeout)" in err
    assert f"finish it with 'armsrace sweep {path} --out {out} --resume'" in err
    done = [c["done"] for c in read_manifest(out)["chunks"].values()]
    assert any(done) and not all(done)
    assert not list(out.rglob("*.tmp")) and not (out / ".lock").exists()
    assert cli(path, "--out", out, "--resume") == 0  # here, in this process
    assert read_runs(out).run.tolist() == list(range(360))


def test_workers_are_capped_at_the_cores_unless_forced(sweep_small, tmp_path, capsys):
    from model.batch.sweep import available_cores

    cores = available_cores()
    assert cli(sweep_small, "--out", tmp_path / "r", "--workers", 1000) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"at most the {cores} core(s) of this machine" in err and "--force" in err
    assert not (tmp_path / "r").exists()
    assert cli(sweep_small, "--out", tmp_path / "r", "--workers", cores + 1, "--force") == 0
    assert_same_results(tmp_path / "r", run_sweep(sweep_small, tmp_path / "ref", progress=False))


@pytest.mark.parametrize("workers", [None, 2], ids=["in-process", "workers-2"])
def test_ctrl_c_to_the_process_group_prints_one_line_exits_130_and_leaves_a_resumable_folder(tmp_path, workers):
    path = tmp_path / "slow.toml"
    path.write_text(SLOW)
    out = tmp_path / "r"
    extra = ("--workers", str(workers)) if workers else ()
    proc = subprocess.Popen([sys.executable, "-m", "model.cli", "sweep", str(path), "--out", str(out), "--quiet",
                             "--engine", "mesa", "--chunk-size", "12", *extra], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    _wait_for_done_chunks(proc, out, 2)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C at a terminal does: the whole foreground group
    err = proc.communicate(timeout=120)[1].decode()
    assert proc.returncode == 130 and err.count("\n") == 1, err
    assert err.startswith(f"armsrace sweep: interrupted. The sweep in {str(out)!r} stopped with ")
    assert f"--out {out} --resume'" in err
    assert not list(out.rglob("*.tmp")) and not (out / ".lock").exists()
    assert cli(path, "--out", out, "--resume") == 0
    assert read_runs(out).run.tolist() == list(range(360))


def test_chunks_are_on_disk_before_the_manifest_marks_them_done(sweep_small, tmp_path, monkeypatch):
    """Each chunk file is fsynced (and its rename made durable) before the manifest that marks it done is
    written: after a power cut a chunk marked done is a whole file."""
    from model.batch import store

    events = []
    real_fsync = os.fsync

    def fsync(fd):
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        events.append(("fsync", path.parent.name, path.name))
        return real_fsync(fd)

    real_manifest = store.write_manifest

    def write_manifest(manifest, out):
        events.append(("manifest", tuple(k for k, c in manifest["chunks"].items() if c["done"])))
        return real_manifest(manifest, out)

    monkeypatch.setattr(store.os, "fsync", fsync)
    monkeypatch.setattr(store, "write_manifest", write_manifest)
    assert cli(sweep_small, "--out", tmp_path / "r", "--chunk-size", 5) == 0
    for key in ("00000", "00001", "00002", "00003"):
        marked = next(i for i, e in enumerate(events) if e[0] == "manifest" and key in e[1])
        for sub in ("runs", "agents"):
            synced = [i for i, e in enumerate(events)
                      if e[:2] == ("fsync", sub) and e[2].startswith(f".chunk-{key}.parquet.")]
            assert len(synced) == 1 and synced[0] < marked, (key, sub, events)
            # and the rename into place made durable (its folder synced) before the manifest said done
            assert ("fsync", "r", sub) in events[synced[0]:marked], (key, sub, events)
