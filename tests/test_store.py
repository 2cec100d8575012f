"""The result-folder owner (model/batch/store.py): atomic writes, reading sweep folders, and that no
other module touches the files of a result folder."""

from __future__ import annotations

import ast
import errno
import json
import os
from pathlib import Path

import helpers
import pandas as pd
import pytest
from fixtures_results import interrupt, write_grid, write_result
from helpers import REPO

from model.batch import store
from model.batch.experiments import load_experiment
from model.batch.store import load_results, read_agents, read_runs
from model.batch.sweep import run_in_memory, run_sweep
from model.errors import OutputError, ParameterError
from model.sim.params import COUNTRIES


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> Path:
    return write_grid(tmp_path_factory.mktemp("results") / "grid")


# --- writing ---------------------------------------------------------------------------------------

def test_atomic_write_replaces_the_whole_file_or_nothing(tmp_path):
    path = tmp_path / "sub" / "file.toml"
    store.atomic_write(path, "first\n")
    store.atomic_write(path, b"second\n")
    assert path.read_text() == "second\n"

    def half(fh) -> None:
        fh.write(b"half")
        raise RuntimeError("killed while writing")

    with pytest.raises(RuntimeError):
        store.atomic_write(path, half)
    assert path.read_text() == "second\n"  # the old file, whole
    assert sorted(p.name for p in path.parent.iterdir()) == ["file.toml"]  # no temporary left


def test_read_json_names_the_file_in_one_line(tmp_path):
    bad = tmp_path / "plots.json"
    bad.write_text("{not json")
    with pytest.raises(OutputError, match="plots.json") as err:
        store.read_json(bad)
    assert "\n" not in str(err.value)


def test_staged_output_leaves_the_folder_untouched_on_failure(tmp_path):
    out = tmp_path / "out"
    with store.staged_output(out) as stage:
        store.write_text("kept", stage / "a.txt")
    with pytest.raises(RuntimeError), store.staged_output(out) as stage:
        store.write_text("new", stage / "a.txt")
        raise RuntimeError("failed half-way")
    assert (out / "a.txt").read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left


def test_an_os_error_in_a_stage_is_one_line_and_any_other_stays_itself(tmp_path):
    """A library failing to write a file of the stage (not disk-full) is the command's one-line error;
    an OSError about a file elsewhere, or about no file, reaches the caller unchanged."""
    out = tmp_path / "out"
    with pytest.raises(OutputError, match="cannot be written: Permission denied; nothing was written") as err:
        with store.staged_output(out) as stage:
            raise PermissionError(errno.EACCES, "Permission denied", str(stage / "chart.png"))
    assert "\n" not in str(err.value) and not out.exists()
    for filename in (str(tmp_path / "elsewhere.txt"), None):
        with pytest.raises(PermissionError) as err, store.staged_output(out):
            raise PermissionError(errno.EACCES, "Permission denied", filename)
        assert err.value.filename == filename
    assert [p.name for p in tmp_path.iterdir()] == []  # no staging folder left


def test_staged_output_writes_beside_user_files_and_merges_subfolders(tmp_path):
    out = tmp_path / "out"
    (out / "report").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    (out / "report" / "draft.md").write_text("my draft")
    with store.staged_output(out, command="report") as stage:
        store.write_text("# report", stage / "REPORT.md")
        store.write_text("fig", store.subfolder(stage, "report") / "a.csv")
    assert (out / "notes.txt").read_text() == "mine" and (out / "report" / "draft.md").read_text() == "my draft"
    assert (out / "REPORT.md").read_text() == "# report" and (out / "report" / "a.csv").read_text() == "fig"
    record = json.loads((out / store.OUTPUTS).read_text())["files"]
    assert sorted(record) == ["REPORT.md", "report/a.csv"] and record["REPORT.md"]["command"] == "report"


def _write_once(out: Path, text: str, force: bool = False, command: str = "run") -> None:
    with store.staged_output(out, command=command, force=force, expect=("summary.json",)) as stage:
        store.write_text(text, stage / "summary.json")
        store.write_text(text, stage / "summary.csv")


def test_force_replaces_only_the_commands_own_unchanged_outputs(tmp_path):
    out = tmp_path / "out"
    _write_once(out, "first")
    before = helpers.tree(tmp_path)
    with pytest.raises(OutputError, match="add --force") as err:  # its own outputs: only with --force
        _write_once(out, "second")
    assert str(out / "summary.json") in str(err.value) and "\n" not in str(err.value)
    assert helpers.tree(tmp_path) == before  # refused: nothing written, no staging folder left
    _write_once(out, "second", force=True)
    assert (out / "summary.json").read_text() == "second"
    with pytest.raises(OutputError, match="was written by 'armsrace run', not by 'armsrace plot'"):
        _write_once(out, "third", force=True, command="plot")
    (out / "summary.csv").write_text("edited by hand")  # changed since: the user's now
    before = helpers.tree(tmp_path)
    with pytest.raises(OutputError, match="has changed since .armsrace run. wrote it") as err:
        _write_once(out, "third", force=True)
    assert str(out / "summary.csv") in str(err.value) and "not even with --force" in str(err.value)
    assert helpers.tree(tmp_path) == before


def test_force_removes_the_commands_own_files_it_no_longer_writes_and_nothing_else(tmp_path):
    out = tmp_path / "out"
    with store.staged_output(out, command="plot") as stage:
        for name in ("a.png", "a.svg", "b.svg", "index.json"):
            store.write_text(name, stage / name)
    with store.staged_output(out, command="run") as stage:
        store.write_text("another command's", stage / "c.svg")
    (out / "b.svg").write_text("edited")  # changed since: the user's now
    (out / "mine.svg").write_text("mine")
    with store.staged_output(out, command="plot", force=True) as stage:  # PNG only this time
        for name in ("a.png", "index.json"):
            store.write_text(name + " again", stage / name)
    assert sorted(p.name for p in out.iterdir()) == [store.OUTPUTS, "a.png", "b.svg", "c.svg", "index.json", "mine.svg"]
    record = store.read_outputs(out)
    assert sorted(record) == ["a.png", "b.svg", "c.svg", "index.json"] and record["c.svg"]["command"] == "run"
    assert (out / "b.svg").read_text() == "edited" and not store._is_own(out / "b.svg", Path("b.svg"), record, "plot")


@pytest.mark.parametrize("case", ["folder", "link", "subfolder_is_a_file", "foreign_record"])
def test_what_the_command_did_not_write_is_never_replaced(tmp_path, case):
    out = tmp_path / "out"
    out.mkdir()
    if case == "folder":  # a folder of the user's named like an output file
        (out / "summary.json").mkdir()
        (out / "summary.json" / "keep.txt").write_text("mine")
        named = out / "summary.json"
    elif case == "link":
        (tmp_path / "elsewhere.txt").write_text("mine")
        (out / "summary.json").symlink_to(tmp_path / "elsewhere.txt")
        named = out / "summary.json"
    elif case == "subfolder_is_a_file":
        (out / "report").write_text("mine")
        named = out / "report"
    else:
        (out / store.OUTPUTS).write_text("my own notes, not a record")
        named = out / store.OUTPUTS
    before = helpers.tree(tmp_path)
    with pytest.raises(OutputError) as err:
        with store.staged_output(out, command="run", force=True) as stage:
            store.write_text("x", stage / "summary.json")
            store.write_text("x", store.subfolder(stage, "report") / "a.csv")
    assert str(named) in str(err.value) and "not even with --force" in str(err.value)
    assert helpers.tree(tmp_path) == before


def test_a_full_disk_names_the_file_and_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    opened = helpers.full_disk(monkeypatch, after=1)
    with pytest.raises(OutputError) as err:
        with store.staged_output(out, command="run") as stage:
            store.write_text("fits", stage / "a.json")
            store.write_csv(pd.DataFrame({"x": [1]}), stage / "b.csv")
    msg = str(err.value)
    assert msg == (f"The file {str(out / 'b.csv')!r} cannot be written: No space left on device; nothing was "
                   f"written to {str(out)!r}.")
    assert [p.name for p in opened] == ["a.json", "b.csv"]
    assert helpers.tree(tmp_path) == {"out": None, "out/notes.txt": b"mine"}  # no staging folder left
    # an atomic write that fails leaves the old file and no temporary
    (out / "m.json").write_text("old")
    with pytest.raises(OutputError, match="m.json' cannot be written: No space left on device"):
        store.atomic_write(out / "m.json", b"new")
    assert sorted(p.name for p in out.iterdir()) == ["m.json", "notes.txt"] and (out / "m.json").read_text() == "old"


# --- reading ---------------------------------------------------------------------------------------

def test_load_results_reads_manifest_runs_and_agents_lazily(grid, monkeypatch):
    read = []
    original = pd.read_parquet
    monkeypatch.setattr(pd, "read_parquet", lambda path, **kw: (read.append(Path(path)), original(path, **kw))[1])
    res = load_results(grid)
    assert res.kind == "grid" and res.varied == ["us_demand", "alliance_credibility", "threat_scale"]
    assert res.replicates == 3 and res.n_points == 48 and len(res.runs) == 144
    assert res.runs["run"].tolist() == list(range(144))  # concatenated chunks, in run order
    assert "stability_radius" in res.outcomes and "us_demand" not in res.outcomes
    assert read and all(p.parent.name == "runs" for p in read)  # no agent table read yet
    agents = res.read_agents()
    assert len(agents) == 144 * 17 * 7
    assert set(agents["country"]) == set(COUNTRIES)
    assert not hasattr(res, "agents")  # one way to read agents: read_agents (columns, runs)
    some = res.read_agents(["burden"], runs=[0, 5])
    assert list(some.columns) == ["run", "burden"] and set(some["run"]) == {0, 5}


def test_load_results_ignores_chunks_not_marked_done_like_the_sweep(tmp_path):
    folder = interrupt(write_grid(tmp_path / "partial", chunk_size=50), ["00001"])
    assert (folder / "runs" / "chunk-00001.parquet").is_file()  # a stray chunk: written, not marked done
    res = load_results(folder)
    expected = list(range(50)) + list(range(100, 144))
    assert res.runs["run"].tolist() == expected and res.expected_runs == 144
    assert res.incomplete_note == "Unfinished sweep: 94 of 144 runs."
    pd.testing.assert_frame_equal(res.runs, read_runs(folder))  # plot and sweep read the same runs
    agents = res.read_agents(["burden"])
    assert sorted(agents["run"].unique()) == expected
    pd.testing.assert_frame_equal(res.read_agents(), read_agents(folder))
    # a chunk marked done whose file is gone: one line naming it
    (folder / "runs" / "chunk-00002.parquet").unlink()
    with pytest.raises(ParameterError, match="chunk-00002.parquet") as err:
        load_results(folder)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("case", ["missing", "file", "no_manifest", "bad_manifest", "no_design", "no_runs"])
def test_load_results_rejects_bad_folders_with_one_line_naming_the_folder(tmp_path, case):
    folder = tmp_path / f"bad-{case}"
    if case == "file":
        folder.write_text("x")
    elif case != "missing":
        folder.mkdir()
    if case == "bad_manifest":
        (folder / "manifest.json").write_text("{not json")
    if case == "no_design":
        (folder / "manifest.json").write_text(json.dumps({"replicates": 1}))
    if case == "no_runs":
        (folder / "manifest.json").write_text(json.dumps({"design": {"kind": "grid", "varied": ["us_demand"]}}))
        (folder / "runs").mkdir()
    with pytest.raises(ParameterError) as err:
        load_results(folder)
    msg = str(err.value)
    assert str(folder) in msg and "\n" not in msg


def test_browsable_folders_are_the_result_subfolders_never_a_symlink(tmp_path, grid):
    write_result(tmp_path / "b", "grid", pd.DataFrame({"us_demand": [0.02, 0.05]}), 1, agents=False)
    (tmp_path / "a-not-a-sweep").mkdir()
    (tmp_path / "c.txt").write_text("x")
    (tmp_path / "d-link").symlink_to(tmp_path / "b", target_is_directory=True)
    assert [(p.name, kind) for p, kind in store.browsable_folders(tmp_path)] == [("b", "sweep")]
    assert store.browsable_folders(tmp_path / "nowhere") == []


SMALL = """\
[experiment]
base = "baseline"
until = 2030

[fixed]
threat_noise = 0.05

[parameters]
us_demand = { low = 0.02, high = 0.05 }
alliance_credibility = { low = 0.4, high = 1.0 }

[design]
kind = "sobol"
n = 4
seed = 3

[replicates]
count = 2
root_seed = 5

[keep]
variables = ["burden", "threat"]
"""


def test_sweep_in_memory_gives_the_tables_of_a_sweep_folder(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    runs, agents = run_in_memory(load_experiment(path), chunk_size=7)
    out = run_sweep(path, out=tmp_path / "small", progress=False, chunk_size=10)
    pd.testing.assert_frame_equal(runs, read_runs(out), check_exact=True)
    pd.testing.assert_frame_equal(agents, read_agents(out), check_exact=True)


# --- the one owner -----------------------------------------------------------------------------------

FILE_CALLS = {"to_csv", "to_parquet", "read_parquet", "write_text", "write_bytes", "read_text", "read_bytes",
              "savefig", "replace", "rename", "unlink", "rmtree", "mkdir", "glob", "iterdir"}
"""Calls that read, write or list files (``replace``/``rename`` of ``os`` only: not ``str.replace`` or
``DataFrame.rename``)."""
ALLOWED = {
    "model/batch/store.py": FILE_CALLS,                   # the owner of result folders
    "model/batch/sweep.py": {"iterdir", "read_bytes"},    # data_hash reads the model's data files (model/data)
    "model/viz/offline_assets.py": FILE_CALLS,            # the browser view's front-end cache, not results
}


def _file_calls(path: Path) -> set[str]:
    """Names of file calls in a module (``x.to_csv(...)``, ``os.replace(...)``; ``str.replace`` excluded)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in FILE_CALLS:
            name = node.func.attr
            owner = node.func.value
            if name in ("replace", "rename") and not (isinstance(owner, ast.Name) and owner.id == "os"):
                continue  # str.replace, Params.replace, dataclasses.replace, DataFrame.rename
            found.add(name)
    return found


def test_no_module_but_the_store_reads_or_writes_result_files():
    offenders = {}
    for path in sorted((REPO / "model").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith("model/sim/"):
            continue  # the model reads its own data files only (model/data), never result folders
        calls = _file_calls(path) - ALLOWED.get(rel, set())
        if calls:
            offenders[rel] = sorted(calls)
    assert not offenders, f"file access outside model/batch/store.py: {offenders}"


def test_the_guard_sees_file_calls(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import os\nos.replace(a, b)\ndf.to_csv(p)\n'x'.replace('a', 'b')\n")
    assert _file_calls(probe) == {"replace", "to_csv"}
    assert os.path.basename(store.__file__) == "store.py"
