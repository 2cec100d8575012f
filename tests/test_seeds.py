"""One definition of a seed (model.sim.params.check_seed), the same at every entry point.

The command line (run, report, backtest, discover), the browser's seed box and experiment files refuse
the same bad seeds with one line naming the field and the value, and accept the same good ones.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from model.batch.experiments import load_experiment
from model.cli import main
from model.errors import ParameterError
from model.sim.params import MAX_SEED, check_seed
from model.viz import controls

BAD = ["-1", str(MAX_SEED + 1), "99999999999999999999", "abc", "1.5"]
GOOD = ["0", "7", str(MAX_SEED)]
RANGE = "must be an integer in [0, 2**63 - 1]"


def test_check_seed_is_the_definition():
    assert MAX_SEED == 2**63 - 1
    for good in (0, 7, MAX_SEED, np.int64(5), np.uint64(MAX_SEED)):
        assert check_seed(good) == int(good) and type(check_seed(good)) is int
    for bad in (-1, MAX_SEED + 1, 1.0, "3", True, np.bool_(False), None, np.uint64(MAX_SEED + 1)):
        with pytest.raises(ParameterError) as info:
            check_seed(bad)
        assert str(info.value) == f"The 'seed' parameter {RANGE}. Got {bad!r} instead."
    # every seed it accepts, numpy accepts
    np.random.default_rng(check_seed(MAX_SEED))
    with pytest.raises(ValueError):
        np.random.default_rng(-1)


def test_text_seeds_are_the_same_integers():
    assert [check_seed(t, text=True) for t in GOOD] == [0, 7, MAX_SEED]
    assert check_seed(" 12 ", text=True) == 12
    for bad in [*BAD, "", "0x10"]:
        with pytest.raises(ParameterError) as info:
            check_seed(bad, text=True)
        assert str(info.value).endswith(f"Got {shown(bad)} instead.")


def shown(text: str) -> str:
    """How a refused seed typed as text is shown: the integer it reads as, else the text."""
    try:
        return repr(int(text))
    except ValueError:
        return repr(text)


def test_field_names_in_the_message():
    with pytest.raises(ParameterError) as info:
        check_seed("-1", "--seed", text=True)
    assert str(info.value) == f"The '--seed' option {RANGE}. Got -1 instead."
    with pytest.raises(ParameterError) as info:
        check_seed(-1, "replicates.root_seed", where="experiment e.toml")
    assert str(info.value) == f"experiment e.toml: the 'replicates.root_seed' field {RANGE}. Got -1 instead."


def cli(capsys, *args: str) -> tuple[int, str]:
    """Exit status and stderr of ``armsrace ARGS`` in this process (argparse errors exit via SystemExit)."""
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err.strip()


def commands(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    """Each command that takes --seed, with arguments that fail on something checked after the seed, and
    a fragment of that later error: a good seed gets past the seed check to it."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "REPORT.md").write_text("the user's own file")
    return {
        "run": (["run", "--scenario", "no_such_scenario"], "no_such_scenario"),
        "report": (["report", "--quick", "--out", str(tmp_path / "mine")], "REPORT.md"),
        "backtest": (["backtest", "--rolling", "later-sooner"], "--rolling"),
        "discover": (["discover", str(tmp_path / "no_sweep"), "--outcome", "spiral"], "no_sweep"),
    }


@pytest.mark.parametrize("command", ["run", "report", "backtest", "discover"])
@pytest.mark.parametrize("seed", BAD)
def test_every_command_refuses_the_same_bad_seeds(tmp_path, capsys, command, seed):
    args, _ = commands(tmp_path)[command]
    code, err = cli(capsys, *args, "--seed", seed)
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"armsrace {command}: error: ") and "--seed" in err and shown(seed) in err, err
    assert err.endswith(f"The '--seed' option {RANGE}. Got {shown(seed)} instead."), err
    assert not (tmp_path / "no_sweep").exists() and [p.name for p in (tmp_path / "mine").iterdir()] == ["REPORT.md"]


@pytest.mark.parametrize("command", ["run", "report", "backtest", "discover"])
@pytest.mark.parametrize("seed", GOOD)
def test_every_command_accepts_the_same_good_seeds(tmp_path, capsys, command, seed):
    args, later = commands(tmp_path)[command]
    code, err = cli(capsys, *args, "--seed", seed)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert later in err and "'--seed'" not in err, err  # refused for the later reason, not the seed


def test_a_large_seed_runs(tmp_path, capsys):
    # `armsrace run --seed 99999999999999999999` used to exit 0; the largest valid seed still runs
    code, err = cli(capsys, "run", "--seed", str(MAX_SEED), "--until", "2026", "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert '"seed": 9223372036854775807' in (tmp_path / "o" / "summary.json").read_text()


@pytest.mark.parametrize("seed", BAD)
def test_the_seed_box_refuses_the_same_bad_seeds(seed):
    with pytest.raises(ParameterError) as info:
        controls.parse_seed(seed)
    assert str(info.value) == f"The 'seed' parameter {RANGE}. Got {shown(seed)} instead."
    assert controls.PageModel(seed=seed).input_error.startswith(str(info.value))


def test_the_seed_box_accepts_the_same_good_seeds():
    assert [controls.parse_seed(s) for s in GOOD] == [0, 7, MAX_SEED]
    assert controls.PageModel(seed=str(MAX_SEED)).input_error is None


EXPERIMENT = """
[parameters]
us_demand = {{ low = 0.02, high = 0.05 }}
[design]
kind = "lhs"
samples = 2
seed = {design}
[replicates]
{replicates}
"""


def experiment(tmp_path: Path, design: str = "0", replicates: str = "root_seed = 0") -> Path:
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT.format(design=design, replicates=replicates))
    return path


def toml(seed: str) -> str:
    """A seed as written in an experiment file: numbers as numbers, other text as a string."""
    return f'"{seed}"' if seed == "abc" else seed


@pytest.mark.parametrize("field", ["design.seed", "replicates.root_seed", "replicates.seeds"])
@pytest.mark.parametrize("seed", BAD)
def test_experiment_files_refuse_the_same_bad_seeds(tmp_path, field, seed):
    value = toml(seed)
    path = {"design.seed": lambda: experiment(tmp_path, design=value),
            "replicates.root_seed": lambda: experiment(tmp_path, replicates=f"root_seed = {value}"),
            "replicates.seeds": lambda: experiment(tmp_path, replicates=f"seeds = [1, {value}]")}[field]()
    with pytest.raises(ParameterError) as info:
        load_experiment(path)
    got = tomllib.loads(f"v = {value}")["v"]
    assert str(info.value) == f"experiment exp.toml: the {field!r} field {RANGE}. Got {got!r} instead."


@pytest.mark.parametrize("seed", GOOD)
def test_experiment_files_accept_the_same_good_seeds(tmp_path, seed):
    exp = load_experiment(experiment(tmp_path, design=seed, replicates=f"root_seed = {seed}"))
    assert exp.design_seed == exp.root_seed == int(seed)
    exp = load_experiment(experiment(tmp_path, replicates=f"seeds = [{seed}]"))
    assert exp.seed_list == (int(seed),)
