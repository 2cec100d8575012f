"""One Sobol pipeline (model/analysis/sensitivity.py): the report analyses the declared experiment
experiments/sensitivity.toml, and 'armsrace sweep' + 'armsrace plot' of that file give the same indices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.analysis.sensitivity import MID_YEAR, experiment_path, report_outcomes, run_sensitivity, sobol_table
from model.batch.experiments import load_experiment
from model.batch.store import load_results, read_agents
from model.batch.sweep import run_sweep
from model.charts.sweep import write_plots
from model.errors import ParameterError
from model.sim.model import ArmsRaceModel

INDEX = ["S1", "S1_conf", "ST", "ST_conf"]


@pytest.fixture(scope="module")
def declared():
    """The report's analysis at the experiment's own N, and a sweep of the same file with its charts."""
    return run_sensitivity()


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = run_sweep(experiment_path(), out=tmp_path_factory.mktemp("sens") / "sensitivity", progress=False)
    write_plots(out, formats="png")
    return out


def test_the_report_analyses_the_declared_experiment(declared):
    exp = load_experiment(experiment_path())
    assert declared.experiment.names == exp.names and len(exp.names) == 8
    assert declared.experiment.second_order and declared.n == declared.declared_n == exp.n
    assert declared.n_runs == exp.n_runs == exp.n * (2 * 8 + 2) * exp.replicates
    # the experiment's own seeds, run by run
    run, _, rep = exp.run_index(0, exp.n_runs)
    np.testing.assert_array_equal(declared.runs["seed"].to_numpy(), exp.seeds(run, rep))
    assert set(declared.indices["outcome"]) == set(report_outcomes(exp.base))
    assert {f"S2_{p}" for p in exp.names} <= set(declared.indices.columns)


def test_armsrace_plot_of_the_sweep_gives_the_reports_indices(declared, swept):
    written = pd.read_csv(swept / "plots" / "sobol_indices.csv")
    shared = sorted(set(written["outcome"]) & set(declared.indices["outcome"]))
    assert {"final_burden_jpn", "regional_excess_end", "spiral_share"} <= set(shared)
    for outcome in shared:
        a = written[written["outcome"] == outcome].drop(columns="outcome").reset_index(drop=True)
        b = declared.indices[declared.indices["outcome"] == outcome].drop(columns=["outcome", "undefined"])
        pd.testing.assert_frame_equal(a, b.reset_index(drop=True), check_exact=False, rtol=1e-12, atol=1e-15)
    # and the runs behind them are the sweep's, bit for bit
    res = load_results(swept)
    pd.testing.assert_frame_equal(declared.runs[res.runs.columns], res.runs, check_exact=True)
    again = sobol_table(res, ["final_burden_jpn"]).drop(columns="outcome")
    pd.testing.assert_frame_equal(again[["parameter", *INDEX]],
                                  declared.indices[declared.indices["outcome"] == "final_burden_jpn"]
                                  [["parameter", *INDEX]].reset_index(drop=True))


def test_japans_mid_year_burden_is_that_of_an_ordinary_run(declared, swept):
    runs = declared.runs
    name = f"burden_jpn_{MID_YEAR}"
    exp = declared.experiment
    for k in (0, len(runs) // 2):
        point = exp.points.iloc[int(runs.loc[k, "design_point"])].to_dict()
        m = ArmsRaceModel(params=exp.base.replace(**point), rng=int(runs.loc[k, "seed"])).run()
        t = m.agent_table()
        jpn = float(t[(t["country"] == "JPN") & (t["year"] == MID_YEAR)]["burden"].iloc[0])
        assert runs.loc[k, name] == pytest.approx(jpn, rel=1e-12)
    agents = read_agents(swept)
    jpn = agents[(agents["country"] == "JPN") & (agents["year"] == MID_YEAR)]["burden"].to_numpy()
    np.testing.assert_array_equal(runs[name].to_numpy(), jpn)


def test_a_quick_look_overrides_only_the_sample_size(declared):
    quick = run_sensitivity(n=8, seed=0)
    assert quick.n == 8 and quick.declared_n == declared.n and quick.n_points == 8 * 18
    assert quick.experiment.names == declared.experiment.names
    assert quick.experiment.content["design"]["n"] == 8 and declared.experiment.content["design"]["n"] == declared.n
    with pytest.raises(ParameterError, match="power of 2"):
        run_sensitivity(n=12)
    with pytest.raises(ParameterError, match="power of 2"):
        load_experiment(experiment_path()).with_sample_size(True)


def test_bootstrap_seed_moves_only_the_intervals(declared):
    other = run_sensitivity(seed=3)
    np.testing.assert_array_equal(other.indices["S1"], declared.indices["S1"])
    assert not np.array_equal(other.indices["S1_conf"], declared.indices["S1_conf"])
    again = run_sensitivity(seed=0)
    pd.testing.assert_frame_equal(again.indices, declared.indices, check_exact=True)


def test_other_designs_are_refused(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('[parameters]\nus_demand = [0.02, 0.05]\n')
    with pytest.raises(ParameterError, match="'sobol' design"):
        run_sensitivity(path)
    with pytest.raises(ParameterError, match="'sobol' design only"):
        load_experiment(path).with_sample_size(8)


def test_experiments_are_found_beside_a_non_editable_install(tmp_path, monkeypatch):
    """experiments/ is not packaged: without the clone's folder, the working directory's is used."""
    from model.sim import scenarios

    monkeypatch.setattr(scenarios, "EXPERIMENTS_DIR", tmp_path / "site-packages" / "experiments")
    monkeypatch.chdir(tmp_path)
    assert experiment_path() == tmp_path / "experiments" / "sensitivity.toml"
