"""Calibration: recovery of known coefficients from the model's own output, the scenario file, errors.

The recovery test simulates the model from the observed 2000 state with chosen coefficients,
splices the simulated years onto the SIPRI history, and calibrates on them. The data are exactly
what the model produces, so the fit must return the coefficients: tolerance 1e-4 relative
(1e-7 absolute for the drift, share of GDP a year), far below any value that matters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import armsrace

from model.analysis.calibrate import FITTED, build_panel, calibrate, coefficient_table, one_step, to_toml
from model.errors import ParameterError
from model.sim import dynamics
from model.sim.data import history
from model.sim.inputs import build_inputs
from model.sim.params import Params, country_param
from model.sim.scenarios import load_scenario

Y0, T_END = 2000, 2014
TRUE = {  # (baseline_burden, threat_sensitivity, adjustment_speed, drift), all away from the defaults
    "USA": (0.035, 0.01, 0.3, 0.0002), "JPN": (0.012, 0.02, 0.2, 0.0003),
    "KOR": (0.022, 0.03, 0.35, -0.0002), "PHL": (0.015, 0.01, 0.25, -0.0003),
    "CHN": (0.012, 0.004, 0.3, 0.0004), "RUS": (0.03, 0.005, 0.4, 0.0005),
}
# Japan's legislated floor is future policy and its documented floor sits above part of the path
COMMON = {"floor_target_jpn": 0.0, "burden_floor_jpn": 0.005}
RTOL, DRIFT_ATOL = 1e-4, 1e-7


def true_params() -> dict[str, float]:
    return {country_param(f, c): v for c, vals in TRUE.items() for f, v in zip(FITTED, vals)}


def synthetic_history(params: Params) -> pd.DataFrame:
    """SIPRI history up to the start year, then the model's own deterministic run.

    North Korea gets one row in the start year (its WMEAT state) and its simulated years, so the
    panel rebuilds exactly the capability the model carried.
    """
    x = build_inputs(params)
    s = x.start_state()
    rows = []
    for year in x.years:
        s = dynamics.step(s, x, year, None)
        rows += [{"country": c, "year": year, "burden": s.burden[j], "spending": s.spending[j],
                  "gdp": s.gdp[j], "estimate": False} for j, c in enumerate(x.countries)]
    k = x.countries.index("PRK")
    prk = {"country": "PRK", "year": x.start_year, "burden": x.burden0[k], "gdp": x.gdp0[k],
           "spending": x.burden0[k] * x.gdp0[k], "estimate": True}
    real = history()[history()["year"] <= x.start_year]
    return pd.concat([real, pd.DataFrame([prk]), pd.DataFrame(rows)], ignore_index=True)


@pytest.fixture(scope="module")
def simulated() -> tuple[Params, pd.DataFrame]:
    p = Params.from_kwargs(start_year=Y0, until=T_END, anchor=False, **COMMON, **true_params())
    return p, synthetic_history(p)


def check_recovered(cal) -> None:
    table = coefficient_table(cal)
    for iso, values in TRUE.items():
        got = table.loc[iso, list(FITTED)].to_numpy(float)
        np.testing.assert_allclose(got[:3], values[:3], rtol=RTOL, err_msg=iso)
        assert abs(got[3] - values[3]) < DRIFT_ATOL, iso
        assert table.loc[iso, "rmse_pp"] < 1e-6


@pytest.mark.parametrize("objective", ["one-step", "free-run"])
def test_recovers_coefficients_of_simulated_history(simulated, objective):
    _, hist = simulated
    cal = calibrate(Params.from_kwargs(**COMMON), train=(Y0 + 1, T_END), hist=hist, reference_year=Y0,
                    objective=objective, starts=(0.1, 0.3, 0.7))
    check_recovered(cal)
    assert "PRK" not in cal.fitted_countries  # never fitted, even with a series


def test_one_step_with_true_coefficients_reproduces_the_history(simulated):
    """The prediction is the model's own year: with the true coefficients it is exact."""
    p, hist = simulated
    panel = build_panel(p.countries, Y0, T_END, hist)
    x = build_inputs(p)
    years = np.arange(Y0 + 1, T_END + 1)
    pred = one_step(x, panel, years, panel.capability(p["depreciation"]))
    np.testing.assert_allclose(pred, panel.burden[1:], rtol=0, atol=1e-15)


def test_scenario_file_round_trips_and_documents_the_fit(tmp_path):
    cal = calibrate(train=(2000, 2014), starts=(0.3,))
    text = to_toml(cal, "armsrace calibrate --train 2000-2014")
    path = tmp_path / "calibrated.toml"
    path.write_text(text)
    loaded = load_scenario(path)
    assert loaded.params.values == cal.params.values
    assert loaded.params["start_year"] == 2014 and loaded.params["anchor"] is False
    for needle in ("armsrace calibrate --train 2000-2014", "fitted years 2000-2014", "RMSE", "R2",
                   "n=15", "North Korea"):
        assert needle in text
    # growth from the training years, not the 2015-2024 WDI mean (no look-ahead)
    g = history().set_index(["country", "year"])["gdp"]
    expected = (g[("JPN", 2014)] / g[("JPN", 1999)]) ** (1 / 15) - 1
    assert loaded.params["growth_jpn"] == pytest.approx(expected, rel=1e-5)
    # Japan's 2022 floor law is not part of a 2014 calibration; PRK keeps its defaults
    assert loaded.params["floor_target_jpn"] == 0.0
    assert loaded.params["threat_sensitivity_prk"] == Params.from_kwargs()["threat_sensitivity_prk"]


def test_floor_contradicted_by_data_is_lowered():
    # Japan's SIPRI burden is 0.88% in 2007, below a 0.9% floor
    cal = calibrate(base=Params.from_kwargs(burden_floor_jpn=0.009), train=(2000, 2010), starts=(0.3,))
    assert cal.params["burden_floor_jpn"] <= 0.0088
    assert "burden_floor_jpn" in cal.adjustments


@pytest.mark.parametrize("train", [(1990, 2014), (2010, 2012), (2015, 2030)])
def test_bad_windows_raise(train):
    with pytest.raises(ParameterError):
        calibrate(train=train, starts=(0.3,))


def test_command_writes_a_loadable_scenario(tmp_path):
    out = tmp_path / "cal.toml"
    r = armsrace("calibrate", "--train", "2004-2014", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert load_scenario(out).params["start_year"] == 2014
    assert "North Korea not fitted" in r.stdout


def test_command_rejects_bad_window_in_one_line(tmp_path):
    r = armsrace("calibrate", "--train", "2014", "--out", str(tmp_path / "x.toml"))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "'--train'" in r.stderr
    assert not (tmp_path / "x.toml").exists()
