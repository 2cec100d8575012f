"""Backtest: naive baselines against hand-computed values, table and figure on a small synthetic history."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from helpers import armsrace

from model.analysis.backtest import (
    FORECASTS,
    backtest,
    format_table,
    mape,
    naive_last,
    naive_trend,
    rmse,
    simulate_from_panel,
)
from model.analysis.calibrate import build_panel
from model.charts.backtest import plot_backtest
from model.errors import ParameterError
from model.sim.params import Params

COUNTRIES = ("USA", "JPN", "CHN")
TRAIN_START, TRAIN_UNTIL, TEST_UNTIL = 2002, 2008, 2012
YEARS = np.arange(TRAIN_START - 1, TEST_UNTIL + 1)  # 2001 is the state the first fitted year starts from
# Burdens (share of GDP), 2001-2012. Japan's training years are an exact line (+0.05 pp a year from
# 1.0% in 2002);
# China's wiggle around a line whose OLS fit is worked out by hand below.
BURDEN = {
    "USA": [0.030, 0.031, 0.033, 0.034, 0.036, 0.037, 0.039, 0.040, 0.041, 0.043, 0.044, 0.045],
    "JPN": [0.0095, 0.0100, 0.0105, 0.0110, 0.0115, 0.0120, 0.0125, 0.0130, 0.0135, 0.0140, 0.0150, 0.0150],
    "CHN": [0.0110, 0.0100, 0.0120, 0.0110, 0.0130, 0.0120, 0.0140, 0.0130, 0.0150, 0.0150, 0.0160, 0.0170],
}
GDP0 = {"USA": 18000.0, "JPN": 4100.0, "CHN": 2500.0}  # US$ bn in 2001, growing 3% a year


def synthetic() -> pd.DataFrame:
    rows = []
    for iso in COUNTRIES:
        for k, year in enumerate(YEARS):
            gdp = GDP0[iso] * 1.03 ** k
            rows.append({"country": iso, "year": int(year), "burden": BURDEN[iso][k], "gdp": gdp,
                         "spending": BURDEN[iso][k] * gdp, "estimate": False})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def result():
    base = Params.from_kwargs(countries=list(COUNTRIES), floor_target_jpn=0.0)
    return backtest(TRAIN_UNTIL, TEST_UNTIL, TRAIN_START, base=base, hist=synthetic(), starts=(0.3,))


def test_naive_last_and_trend_by_hand():
    # OLS through (0, 1), (1, 2), (2, 4): slope = sum (x - 1)(y - 7/3) / sum (x - 1)^2 = 3 / 2, intercept
    # 7/3 - 3/2 = 5/6, so x = 3 gives 5/6 + 9/2 = 16/3
    np.testing.assert_allclose(naive_trend(np.array([0, 1, 2]), np.array([1.0, 2.0, 4.0]), np.array([3])),
                               [16 / 3])
    np.testing.assert_array_equal(naive_last(np.array([1.0, 2.0, 4.0]), 2), [4.0, 4.0])
    assert rmse(np.array([1.0, 2.0]), np.array([2.0, 4.0])) == pytest.approx(np.sqrt(2.5))
    assert mape(np.array([1.0, 2.0]), np.array([2.0, 4.0])) == pytest.approx(100.0)


def test_naive_forecasts_in_the_table_match_hand_computation(result):
    t = result.table.set_index(["country", "variable"])
    fc = result.forecasts.set_index(["country", "variable", "year"])
    # Japan: the training years lie on 1.0% + 0.05 pp x (year - 2002), ending at 1.30% in 2008; the
    # trend continues the line exactly: 1.35, 1.40, 1.45, 1.50% in 2009-2012
    last = [fc.loc[("JPN", "burden", y), "last"] for y in range(2009, 2013)]
    trend = [fc.loc[("JPN", "burden", y), "trend"] for y in range(2009, 2013)]
    np.testing.assert_allclose(last, [0.0130] * 4)
    np.testing.assert_allclose(trend, [0.0135, 0.0140, 0.0145, 0.0150], atol=1e-12)
    # actual 1.35, 1.40, 1.50, 1.50%: errors of the last value 0.05, 0.10, 0.20, 0.20 pp, of the trend
    # 0, 0, 0.05, 0 pp
    actual = np.array([0.0135, 0.0140, 0.0150, 0.0150])
    err_last_pp = np.array([0.05, 0.10, 0.20, 0.20])
    err_trend_pp = np.array([0.0, 0.0, 0.05, 0.0])
    assert t.loc[("JPN", "burden"), "rmse_last"] == pytest.approx(np.sqrt(np.mean(err_last_pp ** 2)))
    assert t.loc[("JPN", "burden"), "rmse_trend"] == pytest.approx(np.sqrt(np.mean(err_trend_pp ** 2)), abs=1e-9)
    assert t.loc[("JPN", "burden"), "mape_last"] == pytest.approx(100 * np.mean(err_last_pp / 100 / actual))
    # China 2002-2008: 1.0, 1.2, 1.1, 1.3, 1.2, 1.4, 1.3%; x = year - 2005 in -3..3:
    # slope = (-3*1.0 - 2*1.2 - 1*1.1 + 0 + 1*1.2 + 2*1.4 + 3*1.3) / 28 = 1.4 / 28 = 0.05 pp a year,
    # mean = 8.5 / 7 = 1.2142857%, so 2009 (x = 4) gives 1.2142857 + 0.2 = 1.4142857%
    assert fc.loc[("CHN", "burden", 2009), "trend"] == pytest.approx(0.014142857142857, rel=1e-9)
    assert fc.loc[("CHN", "burden", 2012), "trend"] == pytest.approx(0.014142857142857 + 0.0015, rel=1e-9)
    # spending: last value = 2008 burden x 2008 GDP (1.3% of 2500 x 1.03^7)
    assert fc.loc[("CHN", "spending", 2010), "last"] == pytest.approx(0.013 * 2500 * 1.03 ** 7)


def test_table_has_every_country_variable_and_names_the_winner(result):
    t = result.table
    assert set(zip(t["country"], t["variable"])) == {(c, v) for c in COUNTRIES for v in ("burden", "spending")}
    for f in FORECASTS:
        assert {f"rmse_{f}", f"mape_{f}"} <= set(t.columns)
    for r in t.itertuples():
        best = min(FORECASTS, key=lambda f: getattr(r, f"rmse_{f}"))
        assert r.best_rmse == best
    assert (t["n"] == TEST_UNTIL - TRAIN_UNTIL).all()
    text = format_table(t)
    assert "best (RMSE)" in text and "RMSE wins" in text


def test_model_forecast_starts_from_the_last_training_state(result):
    # the model column in TRAIN_UNTIL is the simulation's own start state (not overwritten with the data):
    # it equals the observed value because the run starts from the observed state of that year
    panel = build_panel(result.params.countries, TRAIN_START - 1, TEST_UNTIL, synthetic())
    sim = simulate_from_panel(result.params, panel, TRAIN_UNTIL)
    k = panel.index(TRAIN_UNTIL)
    for var in ("burden", "spending"):
        np.testing.assert_allclose(sim[var][0], getattr(panel, var)[k], rtol=1e-12)
        assert not np.allclose(sim[var][0], getattr(panel, var)[k - 1])  # a run from the year before differs
    fc = result.forecasts.set_index(["country", "variable", "year"])
    for j, iso in enumerate(result.params.countries):
        for var in ("burden", "spending"):
            model = [fc.loc[(iso, var, y), "model"] for y in range(TRAIN_UNTIL, TEST_UNTIL + 1)]
            np.testing.assert_array_equal(model, sim[var][:, j])  # the forecasts are that run
            assert fc.loc[(iso, var, TRAIN_UNTIL), "model"] == pytest.approx(fc.loc[(iso, var, TRAIN_UNTIL),
                                                                                  "actual"], rel=1e-12)
    assert result.params["start_year"] == TRAIN_UNTIL and result.params["until"] == TEST_UNTIL


def test_every_forecast_starts_in_the_last_training_year(result):
    fc = result.forecasts
    assert fc.loc[fc["year"] < TRAIN_UNTIL, list(FORECASTS)].isna().all().all()
    assert fc.loc[fc["year"] >= TRAIN_UNTIL, list(FORECASTS)].notna().all().all()
    start = fc[fc["year"] == TRAIN_UNTIL].set_index(["country", "variable"])
    np.testing.assert_allclose(start["last"], start["actual"])
    # the trend's starting point is its fitted line in 2008: Japan's training years lie on it exactly
    assert start.loc[("JPN", "burden"), "trend"] == pytest.approx(0.0130, abs=1e-12)
    # China's line: mean 1.2142857% in 2005 plus 3 x 0.05 pp
    assert start.loc[("CHN", "burden"), "trend"] == pytest.approx(0.012142857142857 + 0.0015, rel=1e-9)


def test_no_look_ahead_the_test_years_do_not_change_the_forecasts():
    base = Params.from_kwargs(countries=list(COUNTRIES), floor_target_jpn=0.0)
    hist = synthetic()
    later = hist["year"] > TRAIN_UNTIL
    changed = hist.copy()
    changed.loc[later, ["burden", "spending"]] *= 1.7
    a = backtest(TRAIN_UNTIL, TEST_UNTIL, TRAIN_START, base=base, hist=hist, starts=(0.3,))
    b = backtest(TRAIN_UNTIL, TEST_UNTIL, TRAIN_START, base=base, hist=changed, starts=(0.3,))
    assert a.params.values == b.params.values
    pd.testing.assert_frame_equal(a.calibration.coefficients, b.calibration.coefficients)
    pd.testing.assert_frame_equal(a.forecasts[["year", "country", "variable", *FORECASTS]],
                                  b.forecasts[["year", "country", "variable", *FORECASTS]])
    test_rows = a.forecasts["year"] > TRAIN_UNTIL
    np.testing.assert_allclose(b.forecasts.loc[test_rows, "actual"], 1.7 * a.forecasts.loc[test_rows, "actual"])
    assert not a.table["rmse_model"].equals(b.table["rmse_model"])  # the scores do see the test years


def test_reference_year_other_than_the_last_training_year_is_refused():
    base = Params.from_kwargs(countries=list(COUNTRIES), floor_target_jpn=0.0)
    with pytest.raises(ParameterError, match="reference year must be the last training year"):
        backtest(TRAIN_UNTIL, TEST_UNTIL, TRAIN_START, base=base, hist=synthetic(), starts=(0.3,),
                 reference_year=TRAIN_UNTIL + 2)
    same = backtest(TRAIN_UNTIL, TEST_UNTIL, TRAIN_START, base=base, hist=synthetic(), starts=(0.3,),
                    reference_year=TRAIN_UNTIL)
    assert same.params["start_year"] == TRAIN_UNTIL


def test_figure_has_a_titled_panel_per_country_and_a_legend(result):
    for var, unit in (("burden", "% of GDP"), ("spending", "US$ bn")):
        fig = plot_backtest(result, var)
        axes = [ax for ax in fig.axes if ax.get_visible()]
        assert len(axes) == len(COUNTRIES)
        assert all(ax.get_title() and unit in ax.get_ylabel() for ax in axes)
        assert fig.legends and len(fig.legends[0].get_texts()) == 4
        plt.close(fig)


def test_test_years_must_have_data():
    with pytest.raises(ParameterError, match="test-until"):
        backtest(2014, 2030)


def test_command_writes_table_and_figures(tmp_path):
    out = tmp_path / "bt"
    r = armsrace("backtest", "--train-until", "2012", "--train-start", "2002", "--test-until", "2016",
                 "--out", str(out))
    assert r.returncode == 0, r.stderr
    for name in ("backtest.csv", "forecasts.csv", "coefficients.csv", "calibrated.toml", "metadata.json",
                 "backtest_burden.png", "backtest_spending.png"):
        assert (out / name).stat().st_size > 0, name
    table = pd.read_csv(out / "backtest.csv")
    assert len(table) == 12 and set(table["best_rmse"]) <= set(FORECASTS)
    assert "RMSE wins" in r.stdout
