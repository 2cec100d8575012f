"""Scenario discovery (armsrace discover) and the EMA Workbench adapter, both on EMA Workbench (the discover extra).

CI installs the extra; elsewhere these tests skip when it is missing (the adapter and the command
then say in one line how to install it, which is tested too).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, armsrace

from model.analysis import discover as disc
from model.errors import ParameterError

if not os.environ.get("CI"):
    pytest.importorskip("ema_workbench")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "esc"
    r = armsrace("sweep", str(REPO / "experiments" / "escalation.toml"), "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    return out


def synthetic(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Runs where 'spiral' holds exactly when a > 0.7 and b < 0.3 (c is noise, d constant)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.random(n), "b": rng.random(n), "c": rng.random(n), "d": 1.0,
                       "flag": rng.random(n) < 0.5})
    df["escalation"] = np.where((df.a > 0.7) & (df.b < 0.3), "spiral", "stable")
    return df


def test_prim_recovers_a_known_box():
    d = disc.discover(synthetic(), ["a", "b", "c", "d", "flag"], "spiral")
    assert d.coverage >= 0.8 and d.density >= 0.8
    assert set(d.limits.index) == {"a", "b"}
    # the box holds the true one, a little looser (the highest coverage at density >= 0.8)
    assert 0.6 <= d.limits.loc["a", "low"] <= 0.72
    assert 0.28 <= d.limits.loc["b", "high"] <= 0.4
    assert "d" not in d.inputs  # constant: dropped
    assert list(d.scores.index[:2]) in (["a", "b"], ["b", "a"]) and d.scores.sum() == pytest.approx(1.0)
    # the reported box is the highest-coverage step reaching the density threshold
    t = d.trajectory
    assert d.chosen == t.index[t["density"] >= 0.8][0]


def test_expressions_and_their_errors():
    df = synthetic(500)
    np.testing.assert_array_equal(disc.cases(df, "a > 0.5 and flag"), (df.a > 0.5) & df.flag)
    for bad in ("a +", "a * 2", "nonexistent > 1"):
        with pytest.raises(ParameterError, match="'--outcome'") as err:
            disc.cases(df, bad)
        assert "\n" not in str(err.value)
    with pytest.raises(ParameterError, match="needs at least 5 runs"):
        disc.discover(df, ["a", "b"], "a > 2")
    with pytest.raises(ParameterError, match="'--threshold'"):
        disc.discover(df, ["a", "b"], "spiral", threshold=1.5)


def test_discover_command_on_the_main_experiment(sweep, tmp_path):
    out = tmp_path / "d"
    r = armsrace("discover", str(sweep), "--outcome", "spiral", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert {p.name for p in out.iterdir()} == {"discover.json", "trajectory.csv", "box.csv", "scores.csv",
                                               "trajectory.png", "box.png", "scores.png", "metadata.json",
                                               ".armsrace-outputs.json"}
    info = json.loads((out / "discover.json").read_text())
    # provenance: this command's versions and the sweep's own hashes
    meta = json.loads((out / "metadata.json").read_text())
    manifest = json.loads((sweep / "manifest.json").read_text())
    assert meta["versions"]["ema_workbench"] and meta["outcome"] == "spiral" and meta["seed"] == 0
    assert meta["sweep"]["code_hash"] == manifest["code_hash"]
    assert meta["sweep"]["experiment_hash"] == manifest["experiment_hash"]
    runs = pd.read_parquet(sweep / "runs")
    assert info["n_cases"] == int((runs["escalation"] == "spiral").sum()) and info["n_runs"] == len(runs)
    assert info["density"] >= 0.8 and info["coverage"] > 0.5
    # what leads to a spiral in the main experiment: a strong threat response
    assert "threat_scale" in {row["parameter"] for row in info["limits"]}
    scores = pd.read_csv(out / "scores.csv", index_col=0)["score"]
    assert scores.idxmax() in ("threat_scale", "hostility_scale")


def test_any_valid_seed_reaches_the_feature_scores(sweep, tmp_path):
    """scikit-learn takes seeds below 2**32; a larger valid seed (up to 2**63 - 1) still runs, the
    same seed gives the same scores, and another large seed other scores (seeds are not squashed)."""
    scores = []
    for i, seed in enumerate((2**63 - 1, 2**63 - 1, 2**63 - 2)):
        out = tmp_path / f"d{i}"
        r = armsrace("discover", str(sweep), "--outcome", "spiral", "--seed", str(seed), "--out", str(out))
        assert r.returncode == 0, r.stderr
        scores.append(pd.read_csv(out / "scores.csv", index_col=0)["score"])
    pd.testing.assert_series_equal(scores[0], scores[1])
    assert not scores[0].equals(scores[2])


@pytest.mark.parametrize("args, fragment", [
    (["--outcome", "escalation =="], "'--outcome' must be a class"),
    (["--outcome", "final_burden_jpn > 9"], "holds in 0 of"),
    (["--outcome", "spiral", "--threshold", "0"], "'--threshold'"),
])
def test_bad_discoveries_are_one_line_errors(sweep, args, fragment, tmp_path):
    r = armsrace("discover", str(sweep), *args, "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and fragment in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_discover_refuses_folders_that_are_not_sweeps(tmp_path):
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "missing"):
        r = armsrace("discover", str(folder), "--outcome", "spiral")
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_ema_workbench_runs_fifty_scenarios_through_the_fast_engine():
    from model.batch.ema import ema_model, perform
    from model.batch.engine import run_batch
    from model.batch.experiments import run_seeds
    from model.sim.params import Params

    model = ema_model({"threat_scale": (0.5, 8.0), "hostility_scale": None, "counterattack": None},
                      levers={"us_demand": (0.02, 0.05)}, seed=3)
    assert model.uncertainties["hostility_scale"].upper_bound == 5.0  # the declared bound
    assert model.levers["us_demand"].unit == "share of GDP"
    experiments, outcomes = perform(model, scenarios=50, seed=1)
    assert len(experiments) == 50 and outcomes["escalation_code"].shape == (50,)
    # the same numbers as the engine itself, run by run, seeds by the sweep's scheme
    varied = {n: experiments[n].to_numpy() for n in ("threat_scale", "hostility_scale", "us_demand")}
    varied["counterattack"] = experiments["counterattack"].to_numpy().astype(bool)
    run = np.arange(50)
    runs, _ = run_batch(Params.from_kwargs(), varied, run_seeds(run, run, 3, None), paths=False)
    np.testing.assert_array_equal(outcomes["regional_excess_end"], runs["regional_excess_end"].to_numpy())
    again, same = perform(model, scenarios=50, seed=1)
    np.testing.assert_array_equal(outcomes["final_burden_jpn"], same["final_burden_jpn"])


def test_ema_adapter_refuses_what_it_cannot_vary():
    from model.batch.ema import ema_parameter

    with pytest.raises(ParameterError, match="cannot vary within a batch"):
        ema_parameter("until")
    with pytest.raises(ParameterError, match="must lie within"):
        ema_parameter("us_demand", (0.0, 0.9))
    with pytest.raises(ParameterError, match="Unknown parameter"):
        ema_parameter("us_demnad")


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, True, "1", np.random.SeedSequence(1)])
def test_ema_seeds_are_checked_like_every_other_seed(seed):
    from model.batch.ema import ema_model, perform

    for call in (lambda: ema_model(["threat_scale"], seed=seed),
                 lambda: perform(ema_model(["threat_scale"]), scenarios=2, seed=seed)):
        with pytest.raises(ParameterError, match="The 'seed' parameter must be an integer in") as err:
            call()
        assert "\n" not in str(err.value)
