"""Backtest of the scenario model: naive baselines by hand, no look-ahead, the scored model is the scenario model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import armsrace

from model.analysis import backtest as bt
from model.errors import ParameterError
from model.sim.data import history
from model.sim.model import ArmsRaceModel


@pytest.fixture(scope="module")
def result():
    return bt.backtest(2014)


def test_naive_forecasts_by_hand():
    # OLS through (0, 1), (1, 2), (2, 4): slope 3/2, intercept 5/6, so x = 3 gives 16/3
    np.testing.assert_allclose(bt.naive_trend(np.array([0, 1, 2]), np.array([1.0, 2.0, 4.0]), np.array([3])),
                               [16 / 3])
    np.testing.assert_array_equal(bt.naive_last(np.array([1.0, 2.0, 4.0]), 2), [4.0, 4.0])
    # drift: mean yearly change (4 - 1) / 2 = 1.5
    np.testing.assert_allclose(bt.naive_drift(np.array([1.0, 2.0, 4.0]), 3), [5.5, 7.0, 8.5])
    assert bt.rmse(np.array([1.0, 2.0]), np.array([2.0, 4.0])) == pytest.approx(np.sqrt(2.5))
    assert bt.mape(np.array([1.0, 2.0]), np.array([2.0, 4.0])) == pytest.approx(100.0)


def test_table_columns_and_units(result):
    t = result.table
    assert set(t["country"]) == {"USA", "JPN", "KOR", "PHL", "CHN", "RUS"}  # not North Korea
    assert {"country", "variable", "n", "rmse_model", "rmse_last", "rmse_trend", "rmse_rw_drift",
            "rmse_last_burden_gdp", "ratio_last", "best_rmse"} <= set(t.columns)
    assert (t["n"] == 10).all()
    burden = t[t["variable"] == "burden"]
    assert burden["rmse_last_burden_gdp"].isna().all()  # a spending baseline only
    np.testing.assert_allclose(t["ratio_last"], t["rmse_model"] / t["rmse_last"])
    # burden errors are in percentage points: the last value's error for Japan is about its 2015-24 rise
    jpn = result.forecasts[(result.forecasts.country == "JPN") & (result.forecasts.variable == "burden")]
    actual = jpn[jpn.year > 2014]["actual"].to_numpy()
    expected = 100 * np.sqrt(np.mean((actual - jpn[jpn.year == 2014]["actual"].iloc[0]) ** 2))
    assert burden.set_index("country").loc["JPN", "rmse_last"] == pytest.approx(expected)


def test_the_scored_model_is_the_scenario_model(result):
    """The backtest forecast is an ordinary run of ArmsRaceModel with the backtest's parameters."""
    model = ArmsRaceModel(params=result.params, rng=0).run().agent_table()
    fc = result.forecasts
    for iso in ("USA", "JPN", "CHN"):
        ours = fc[(fc.country == iso) & (fc.variable == "burden")].set_index("year")["model"]
        theirs = model[model.country == iso].set_index("year")["burden"]
        np.testing.assert_allclose(ours.to_numpy(), theirs.loc[ours.index].to_numpy(), rtol=0, atol=1e-15)
    assert result.params["anchor"] and result.params["start_year"] == 2014
    assert result.params["floor_target_jpn"] == 0.0  # Japan's goal was decided in 2022


def test_no_look_ahead():
    """Changing every value after the origin changes the actuals, never a forecast."""
    hist = history().copy()
    later = hist["year"] > 2012
    hist.loc[later, "burden"] *= 1.5
    hist.loc[later, "spending"] *= 1.2      # and GDP = spending / burden: x 0.8
    hist.loc[later, "gdp"] = hist.loc[later, "spending"] / hist.loc[later, "burden"]
    a, b = bt.backtest(2012), bt.backtest(2012, hist=hist)
    cols = [f for f in bt.FORECASTS]
    pd.testing.assert_frame_equal(a.forecasts[cols], b.forecasts[cols])
    assert not np.allclose(a.forecasts["actual"], b.forecasts["actual"])


def test_rolling_summary_is_the_geometric_mean_with_a_bootstrap_interval():
    table = pd.DataFrame({"origin": [1, 1, 2, 2], "country": ["A", "B", "A", "B"], "variable": "burden",
                          "ratio_last": [0.5, 2.0, 1.0, 4.0]})
    s = bt.summarise(table, seed=1, resamples=500)
    by = s.set_index("origin")
    assert by.loc["1", "geo_ratio"] == pytest.approx(1.0) and by.loc["2", "geo_ratio"] == pytest.approx(2.0)
    assert by.loc["all", "geo_ratio"] == pytest.approx(np.sqrt(2.0))
    assert by.loc["1", "wins"] == 1 and by.loc["all", "wins"] == 1 and by.loc["all", "countries"] == 4
    assert (s["lo"] <= s["geo_ratio"] + 1e-12).all() and (s["geo_ratio"] <= s["hi"] + 1e-12).all()
    pd.testing.assert_frame_equal(s, bt.summarise(table, seed=1, resamples=500))  # seeded


def test_rolling_cli_writes_its_tables(tmp_path):
    out = tmp_path / "roll"
    r = armsrace("backtest", "--rolling", "2013-2015", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert {p.name for p in out.iterdir()} == {"backtest.csv", "summary.csv", "coefficients.csv",
                                               "backtest_rolling.png", "metadata.json", ".armsrace-outputs.json"}
    summary = pd.read_csv(out / "summary.csv", dtype={"origin": str})
    assert set(summary["origin"]) == {"2013", "2014", "2015", "all"}
    assert set(summary["variable"]) == {"burden", "spending"}
    table = pd.read_csv(out / "backtest.csv")
    assert set(table["origin"]) == {2013, 2014, 2015}
    assert "all" in r.stdout


@pytest.mark.parametrize("args, fragment", [
    (("--train-until", "2014", "--test-until", "2010"), "'--test-until' year must be after the last origin"),
    (("--train-until", "2014", "--test-until", "2030"), "must have data for every country"),
    (("--rolling", "2016-2005"), "'--rolling' option must look like FIRST-LAST"),
    (("--train-until", "1990"), "'--train-until' origin(s) must leave at least 8 training years"),
    (("--train-until", "2030"), "'--train-until' origin(s) must leave a test year"),
    (("--rolling", "1990-1999"), "'--rolling' origin(s) must leave at least 8 training years"),
])
def test_bad_backtests_are_one_line_errors(args, fragment, tmp_path):
    r = armsrace("backtest", *args, "--out", str(tmp_path / "x"))
    assert r.returncode == 2, r.stderr
    assert fragment in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_single_origin_errors_are_parameter_errors():
    with pytest.raises(ParameterError):
        bt.backtest(2014, test_until=2014)
    with pytest.raises(ParameterError):
        bt.rolling(())
