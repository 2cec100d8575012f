"""The estimated model against the record and the published figures (issue: a model history does not refute).

* China: started from the observed 1995 state, the scenario model keeps China within 0.3 pp of its
  1995-2024 band, and its 2040 baseline stays in the band.
* Japan: its 2025-2026 path agrees with the FY2025 and FY2026 budgets on SIPRI's basis (about 1.44%
  of GDP; model/data/SOURCES.md section 8).
* North Korea: a run can draw its start burden and GDP from the published ranges.
* Coefficient draws: seeded, centred on the estimate, spread by its covariance.
"""

from __future__ import annotations

import numpy as np
import pytest

from model.batch.engine import run_batch
from model.sim.data import history
from model.sim.inputs import build_inputs, draw_runs
from model.sim.model import ArmsRaceModel
from model.sim.params import ESTIMATED, Params, coefficient_draw, estimates
from model.sim.scenarios import load_scenario

JAPAN_SIPRI_BASIS = {2025: 0.0144, 2026: 0.0144}
"""Japan's FY2025 and FY2026 defence budgets on SIPRI's basis (SOURCES.md section 8), share of GDP."""


def china_band() -> tuple[float, float]:
    h = history()
    chn = h[(h["country"] == "CHN") & h["year"].between(1995, 2024)]["burden"]
    return float(chn.min()), float(chn.max())


def burden_path(model: ArmsRaceModel, iso: str):
    t = model.agent_table()
    return t[t["country"] == iso].set_index("year")["burden"]


def test_china_started_in_1995_stays_near_its_record():
    lo, hi = china_band()
    chn = burden_path(ArmsRaceModel(start_year=1995, until=2024, rng=0).run(), "CHN")
    assert chn.min() >= lo - 0.003 and chn.max() <= hi + 0.003, (lo, hi, chn.min(), chn.max())
    assert chn.max() - chn.min() > 1e-4  # it responds to its rivals' spending: not held constant


def test_china_2040_baseline_stays_in_its_band():
    lo, hi = china_band()
    chn = burden_path(ArmsRaceModel(params=load_scenario("baseline").params, rng=0).run(), "CHN")
    assert lo <= chn[2040] <= hi


def test_japan_follows_its_budgets_on_sipris_basis():
    jpn = burden_path(ArmsRaceModel(params=load_scenario("baseline").params, rng=0).run(), "JPN")
    for year, value in JAPAN_SIPRI_BASIS.items():
        assert jpn[year] == pytest.approx(value, abs=0.0005), year
    # the 2% of Japan's own measure is not 2% of SIPRI's: the baseline never reaches 2%
    assert jpn.max() < 0.02


def test_north_korea_draws_cover_the_published_range():
    base = Params.from_kwargs(prk_draws=True, until=2026)
    seeds = np.arange(200)
    runs, agents = run_batch(base, {}, seeds)
    start = agents[(agents.year == 2024) & (agents.country == "PRK")]
    assert start["burden"].between(0.15, 0.35).all() and start["gdp"].between(15.0, 31.0).all()
    assert start["burden"].min() < 0.17 and start["burden"].max() > 0.33  # the whole range is reached
    # and without the draws, the WMEAT point estimate
    _, fixed = run_batch(base.replace(prk_draws=False), {}, seeds[:3])
    assert (fixed[(fixed.year == 2024) & (fixed.country == "PRK")]["burden"] == 0.233).all()


def test_coefficient_draws_are_centred_on_the_estimate_and_seeded():
    est = estimates()
    z = draw_runs(np.arange(4000), 1, 7).coefficients
    shifts = coefficient_draw(z)
    lr = est["long_run"]
    # adjustment speed = 1 - rho: centred on the estimate (the median: speeds are clipped to [0.01, 1],
    # since a persistence above 0.99 would be explosive), spread by its standard error
    speed = lr["adjustment_speed"] + shifts["adjustment_speed"]
    assert np.median(speed) == pytest.approx(lr["adjustment_speed"], abs=0.01)
    clipped = np.clip(1 - (est["draws"]["mean"][0] + np.sqrt(est["draws"]["covariance"][0][0]) * z[:, 0]), 0.01, 1)
    np.testing.assert_allclose(speed, clipped, rtol=1e-12)
    # the same seeds give the same draws; a run with draws on differs from one without
    p = Params.from_kwargs(coefficient_draws=True)
    a = build_inputs(p, {"us_demand": np.array([0.02, 0.02])}, draw_runs(np.array([5, 6]), 16, 7))
    b = build_inputs(p, {"us_demand": np.array([0.02, 0.02])}, draw_runs(np.array([5, 6]), 16, 7))
    np.testing.assert_array_equal(a.speed, b.speed)
    assert a.speed[0, 0] != a.speed[1, 0]
    plain = build_inputs(p.replace(coefficient_draws=False))
    for field in ("speed", "sensitivity", "ally_response"):
        assert not np.allclose(getattr(a, field)[0], getattr(plain, field))
    assert set(shifts) == set(ESTIMATED)
