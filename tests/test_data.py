"""The start state is the data: SIPRI 2024 figures (and the WMEAT estimate for North Korea)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.sim.data import PRK_BURDEN_ESTIMATE, PRK_GDP_ESTIMATE, default_growth, history
from model.sim.model import ArmsRaceModel
from model.sim.params import COUNTRIES, DATA_DIR


@pytest.fixture(scope="module")
def start():
    return ArmsRaceModel(rng=0).agent_table().query("year == 2024").set_index("country")


def sipri(variable: str, year: int = 2024) -> pd.Series:
    raw = pd.read_csv(DATA_DIR / "sipri_milex.csv")
    rows = raw[(raw["variable"] == variable) & (raw["year"] == year)]
    return rows.set_index("country_iso3")["value"]


def test_2024_burden_and_spending_equal_sipri(start):
    share, const = sipri("milex_share_gdp"), sipri("milex_const2023usd")
    for iso in COUNTRIES:
        if iso == "PRK":
            continue
        assert start.loc[iso, "burden"] == pytest.approx(share[iso], rel=1e-12)
        assert start.loc[iso, "spending"] == pytest.approx(const[iso] / 1e3, rel=1e-12)
    # spot values from SOURCES.md's quick-reference table
    assert start.loc["USA", "spending"] == pytest.approx(968.4, abs=0.05)
    assert start.loc["JPN", "burden"] == pytest.approx(0.0137, abs=0.00005)
    assert start.loc["CHN", "spending"] == pytest.approx(317.6, abs=0.05)


def test_north_korea_starts_from_the_documented_estimate(start):
    assert start.loc["PRK", "burden"] == PRK_BURDEN_ESTIMATE == 0.233
    assert start.loc["PRK", "gdp"] == PRK_GDP_ESTIMATE
    est = pd.read_csv(DATA_DIR / "prk_milex_estimates.csv")
    assert est.query("variable == 'milex_share_gdp_estimate_avg' and year == 2014")["value"].item() == 23.3


def test_history_marks_sipri_estimates_and_covers_1988_2024():
    h = history()
    assert h.query("country == 'CHN'")["estimate"].all()
    assert not h.query("country == 'USA'")["estimate"].any()
    assert h["year"].min() == 1988 and h["year"].max() == 2024
    assert "PRK" not in set(h["country"])
    np.testing.assert_allclose(h["spending"], h["burden"] * h["gdp"], rtol=1e-12)


def test_growth_defaults_are_wdi_means():
    g = default_growth()
    assert g["JPN"] == pytest.approx(0.00526, abs=1e-4)
    assert g["PRK"] == 0.01
