"""Estimation of the decision rule: parameter recovery from simulated panels, the shipped estimate, bad input.

Parameter recovery is the classic validation of an estimated agent-based model: data simulated by
the model itself with known coefficients and shocks are estimated back, and the truth must lie
within the estimate's intervals.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
from helpers import armsrace, full_disk

from model.analysis.calibrate import Calibration, build_panel, calibrate, regressors, write_estimates
from model.errors import ParameterError
from model.sim import dynamics
from model.sim.inputs import build_inputs, draw_runs
from model.sim.params import COUNTRIES, ESTIMATES_FILE, Params, country_param, estimates

FITTED = ("USA", "JPN", "KOR", "PHL", "CHN", "RUS")
TRUE = {"rho": 0.8, "beta": 0.002, "phi": -0.002}


def simulated_history(seed: int, until: int = 2024, noise: float = 0.05) -> pd.DataFrame:
    """A panel simulated by the model from the observed 1992 state with the TRUE coefficients."""
    lam = 1 - TRUE["rho"]
    kw: dict = {"countries": list(FITTED), "start_year": 1992, "until": until, "anchor": False,
                "us_insistence": 0.0, "partnership": 0.0, "budget_noise": noise}
    for iso in FITTED:
        kw |= {country_param(f, iso): v for f, v in (
            ("adjustment_speed", lam), ("threat_sensitivity", TRUE["beta"] / lam), ("ally_response", TRUE["phi"] / lam),
            ("burden_floor", 0.0), ("burden_cap", 1.0), ("max_change", 1.0), ("floor_target", 0.0),
            ("burden_shifting", 0.0), ("exo_threat", 0.0), ("threat_saturation", 0.0))}
    p = Params.from_kwargs(**kw)
    draws = draw_runs(np.array([seed]), until - 1992, len(FITTED))
    x = build_inputs(p, {"us_demand": np.array([0.02])}, draws)
    out = dynamics.simulate(x, draws.noise)
    rows = []
    for k, year in enumerate(range(1992, until + 1)):
        for j, iso in enumerate(FITTED):
            b, g = out["burden"][0, k, j], out["gdp"][0, k, j]
            rows.append({"country": iso, "year": year, "burden": b, "spending": b * g, "gdp": g, "estimate": False})
    return pd.DataFrame(rows)


def test_long_simulated_panel_recovers_the_coefficients_precisely():
    hist = simulated_history(seed=3, until=2191)
    cal = calibrate((1993, 2191), Params.from_kwargs(countries=list(FITTED)), hist, countries=FITTED)
    e = cal.estimate
    for k, true in TRUE.items():
        assert abs(e.params[k] - true) < 3 * e.se[k], (k, e.params[k], e.se[k])
    assert abs(e.params["rho"] - TRUE["rho"]) < 3 * e.se["rho"] + abs(e.nickell_bias())
    assert e.se["beta"] < abs(TRUE["beta"]) / 2 and e.se["phi"] < abs(TRUE["phi"]) / 2  # really identified
    lr = e.long_run()["value"]
    assert lr["threat_sensitivity"] == pytest.approx(TRUE["beta"] / (1 - TRUE["rho"]), rel=0.2)


def test_realistic_panels_cover_the_truth():
    """32 years x 6 countries like SIPRI's: the 95% intervals cover the threat and ally coefficients in
    most replications; rho is biased down (Nickell), by about what docs/MODEL.md states."""
    covered = {"beta": 0, "phi": 0}
    rho = []
    reps = 12
    for seed in range(reps):
        cal = calibrate((1993, 2024), Params.from_kwargs(countries=list(FITTED)), simulated_history(seed),
                        countries=FITTED)
        e = cal.estimate
        for k in covered:
            covered[k] += abs(e.params[k] - TRUE[k]) < 1.96 * e.se[k]
        rho.append(e.params["rho"])
    assert covered["beta"] >= 0.75 * reps and covered["phi"] >= 0.75 * reps, covered
    assert 0.74 < np.mean(rho) < TRUE["rho"]  # Nickell: the within estimator is biased down, by about 0.03


def test_regressors_are_the_models_own_perception():
    panel = build_panel(COUNTRIES, 2010, 2012)
    data = regressors(panel, np.array([2011, 2012]))
    assert set(data.index.get_level_values("country")) == set(FITTED)  # North Korea: no series
    # threat of Japan in 2012 = log(1 + sum_j h_jj' theatre_j spending_j(2011))
    k = panel.index(2011)
    p = Params.from_kwargs()
    hostile = sum(p[f"hostility_jpn_{s.lower()}"] * p[country_param("theatre_share", s)] * panel.spending[k, j]
                  for j, s in enumerate(COUNTRIES) if s != "JPN")
    assert data.loc[("JPN", 2012), "threat"] == pytest.approx(np.log(1 + hostile), rel=1e-12)
    # support of Japan: credible US spending in theatre; rivals get none (partnership 0 as estimated)
    us = COUNTRIES.index("USA")
    support = p["alliance_credibility"] * p["theatre_share_usa"] * panel.spending[k, us]
    assert data.loc[("JPN", 2012), "support"] == pytest.approx(np.log(1 + support), rel=1e-12)
    assert data.loc[("CHN", 2012), "support"] == 0.0
    assert data.loc[("JPN", 2012), "b_lag"] == panel.burden[k, COUNTRIES.index("JPN")]


def test_shipped_estimates_are_the_current_estimate_of_the_shipped_data():
    """model/data/estimates.toml is what 'armsrace calibrate --install' writes today (regenerate if not)."""
    shipped = estimates()
    assert shipped is not None
    cal = calibrate(tuple(shipped["provenance"]["sample"]))
    for k in ("rho", "beta", "phi"):
        assert cal.estimate.params[k] == pytest.approx(shipped["short_run"][k]["value"], rel=1e-8)
    np.testing.assert_allclose(cal.estimate.rule_cov.to_numpy(), shipped["draws"]["covariance"], rtol=1e-8)
    # and every country's parameter defaults to the pooled long-run value
    p = Params.from_kwargs()
    for iso in COUNTRIES:
        assert p[country_param("threat_sensitivity", iso)] == shipped["long_run"]["threat_sensitivity"]
        assert p[country_param("adjustment_speed", iso)] == shipped["long_run"]["adjustment_speed"]


def test_estimates_file_round_trip(tmp_path):
    cal = calibrate((1995, 2014))
    path = write_estimates(cal, tmp_path / "estimates.toml")
    table = tomllib.loads(path.read_text())
    assert table["provenance"]["sample"] == [1995, 2014]
    assert table["fit"]["nobs"] == cal.estimate.nobs
    assert table["draws"]["mean"] == pytest.approx(cal.estimate.params.tolist(), rel=1e-9)
    lr = cal.estimate.long_run()
    assert table["long_run"]["adjustment_speed"] == pytest.approx(lr.loc["adjustment_speed", "value"], rel=1e-9)
    cov = np.array(table["draws"]["covariance"])
    assert cov.shape == (3, 3) and np.allclose(cov, cov.T) and np.all(np.linalg.eigvalsh(cov) > 0)


def test_coefficient_table_states_what_is_identified():
    cal: Calibration = calibrate((1995, 2014))
    t = cal.coefficient_table()
    assert list(t["coefficient"]) == ["rho", "beta", "phi"]
    assert {"value", "se", "t", "long_run_value", "long_run_se", "identified"} <= set(t.columns)
    assert t["identified"].str.len().min() > 10


@pytest.mark.parametrize("sample, fragment", [
    ((1985, 2010), "The sample must lie within the years with data"),
    ((2018, 2022), "at least 8 years"),
    ((2000, 2030), "The sample must lie within the years with data"),
])
def test_bad_samples_are_refused(sample, fragment):
    with pytest.raises(ParameterError, match=fragment):
        calibrate(sample)


def test_cli_writes_the_estimates_and_leaves_the_shipped_file_alone(tmp_path):
    before = ESTIMATES_FILE.read_bytes()
    out = tmp_path / "cal"
    r = armsrace("calibrate", "--sample", "1995-2014", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert {p.name for p in out.iterdir()} == {"estimates.toml", "coefficients.csv", "covariance.csv",
                                               "regression.csv", "metadata.json", ".armsrace-outputs.json"}
    assert "rho" in r.stdout and "Driscoll" not in r.stderr
    assert ESTIMATES_FILE.read_bytes() == before
    bad = armsrace("calibrate", "--sample", "2014-1995")
    assert bad.returncode == 2 and "--sample" in bad.stderr and "\n" not in bad.stderr.strip()


def test_a_full_disk_while_installing_the_estimates_is_one_line_and_leaves_no_temporary(tmp_path, monkeypatch,
                                                                                      capsys):
    from model import cli
    from model.sim import params

    installed = tmp_path / "data" / "estimates.toml"
    installed.parent.mkdir()
    installed.write_bytes(ESTIMATES_FILE.read_bytes())  # the estimates in use (calibrate reads them too)
    monkeypatch.setattr(params, "ESTIMATES_FILE", installed)
    opened = full_disk(monkeypatch, after=6)  # the five files of --out and their record fit; the install does not
    out = tmp_path / "cal"
    assert cli.main(["calibrate", "--out", str(out), "--install"]) == 2
    err = capsys.readouterr().err
    assert err == (f"armsrace calibrate: error: The file {str(installed)!r} cannot be written: No space left on "
                   f"device.\n")
    assert opened[-1].name.startswith(".estimates.toml.") and opened[-1].name.endswith(".tmp")
    assert [p.name for p in installed.parent.iterdir()] == ["estimates.toml"]  # no temporary left
    assert installed.read_bytes() == ESTIMATES_FILE.read_bytes()
    assert (out / "estimates.toml").is_file()  # the --out folder was complete before the install
