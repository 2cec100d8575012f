"""Invariants over random parameter draws, and the behaviours docs/MODEL.md requires."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import simulate
from hypothesis import given, settings
from hypothesis import strategies as st

from model.sim.inputs import build_inputs
from model.sim.model import ArmsRaceModel
from model.sim.params import ALLIES, COUNTRIES, Params, country_param

unit = st.floats(0.0, 1.0)
draws = st.fixed_dictionaries({
    "us_demand": st.floats(0.0, 0.2),
    "us_insistence": st.floats(0.0, 5.0),
    "alliance_credibility": unit,
    "credibility_after": unit,
    "credibility_shock_year": st.sampled_from([0, 2026, 2030]),
    "partnership": unit,
    "hostility_scale": st.floats(0.0, 5.0),
    "threat_scale": st.floats(0.0, 10.0),
    "counterattack": st.booleans(),
    "counterattack_boost": st.floats(0.0, 2.0),
    "threat_noise": st.floats(0.0, 1.0),
    "budget_noise": st.floats(0.0, 0.5),
    "crowding_out": st.floats(0.0, 2.0),
    "depreciation": st.floats(0.01, 0.5),
    "adjustment_speed_jpn": unit,
    "threat_sensitivity_chn": st.floats(0.0, 5.0),
    "burden_shifting_usa": st.floats(0.0, 5.0),
    "theatre_share_usa": st.floats(0.01, 1.0),
    "theatre_share_rus": st.floats(0.01, 1.0),
    "nato_europe_start": st.floats(0.005, 0.1),
    "nato_europe_target": st.floats(0.0, 0.1),
    "exo_threat_rus": st.floats(0.0, 10.0),
})


@settings(max_examples=60, deadline=None)
@given(kw=draws, seed=st.integers(0, 2**32 - 1))
def test_spending_nonnegative_burden_within_bounds_and_finite(kw, seed):
    p = Params.from_kwargs(**kw)
    out = simulate(p, seeds=seed)
    x = build_inputs(p)
    for name, values in out.items():
        assert np.isfinite(values).all(), name
    assert (out["spending"] >= 0).all()
    assert (out["burden"] >= x.burden_floor - 1e-15).all()
    assert (out["burden"] <= x.burden_cap + 1e-15).all()
    assert (out["capability"] > 0).all()
    assert (out["backlash"] >= 0).all()


@settings(max_examples=10, deadline=None)
@given(kw=draws, seed=st.integers(0, 2**32 - 1))
def test_mesa_model_keeps_the_same_invariants(kw, seed):
    model = ArmsRaceModel(params=Params.from_kwargs(**kw), rng=seed).run()
    table = model.agent_table()
    assert np.isfinite(table.drop(columns="country").to_numpy()).all()
    assert (table["spending"] >= 0).all()
    caps = table["country"].map({c: model.inputs.burden_cap[i] for i, c in enumerate(COUNTRIES)})
    floors = table["country"].map({c: model.inputs.burden_floor[i] for i, c in enumerate(COUNTRIES)})
    assert (table["burden"] <= caps + 1e-15).all() and (table["burden"] >= floors - 1e-15).all()


NO_FLOORS = {country_param(f, iso): 0.0 for iso in COUNTRIES for f in ("floor_target", "burden_shifting")}
NO_ALLY_RESPONSE = {country_param("ally_response", iso): 0.0 for iso in COUNTRIES}


def assert_constant(burden: np.ndarray) -> None:
    np.testing.assert_array_equal(burden, np.broadcast_to(burden[0], burden.shape))


def test_no_threat_sensitivity_and_no_pressure_keeps_burdens_at_baseline():
    """Without anchoring, the baseline is baseline_burden (default: the observed start burden).

    The estimated rule has a third channel, the response to allies' spending (free riding): it is
    switched off too, as MODEL.md's behaviour asks for a model that responds to nothing.
    """
    kw = {"anchor": False, "us_insistence": 0.0, "threat_scale": 0.0, "us_demand": 0.05,
          "hostility_scale": 3.0, "counterattack": True, **NO_FLOORS, **NO_ALLY_RESPONSE}
    out = simulate(Params.from_kwargs(**kw))
    assert_constant(out["burden"])
    assert out["burden"][-1, COUNTRIES.index("JPN")] == pytest.approx(0.013714, abs=1e-6)  # SIPRI 2024


def test_no_response_to_threat_or_pressure_keeps_anchored_burdens_at_the_start():
    kw = {"threat_scale": 0.0, "us_demand": 0.05, "us_insistence": 5.0, **NO_FLOORS, **NO_ALLY_RESPONSE}
    kw |= {country_param("pressure_response", iso): 0.0 for iso in COUNTRIES}
    assert_constant(simulate(Params.from_kwargs(**kw))["burden"])


def test_default_relations_start_at_rest():
    """Anchoring: with the default parameters the desired burden equals the observed one in 2024."""
    from model.sim import dynamics

    x = build_inputs(Params.from_kwargs(floor_target_jpn=0.0))  # Japan's scheduled floor moves it on purpose
    s = dynamics.start_state(x)
    sched = dynamics.schedule(x, x.start_year)
    seen = dynamics.perceive(x, sched, s)
    assert np.all(x.sensitivity != 0) and np.all(x.ally_response != 0)  # the estimated channels are on
    desired = dynamics.desired_burden(x.intercept, x.sensitivity, seen.threat, x.ally_response, seen.support,
                                      x.compliance, sched.demand, x.shifting, 0.0)
    np.testing.assert_allclose(desired, s.burden, rtol=0, atol=1e-15)
    # and a year later nothing has moved but what the schedules and growth move (here: nothing beyond 1e-4)
    out = dynamics.simulate(x.replace(until=x.start_year + 1))
    np.testing.assert_allclose(out["burden"][1], out["burden"][0], atol=1e-4)


mono_base = st.fixed_dictionaries({
    "us_insistence": st.floats(0.0, 5.0),
    "alliance_credibility": unit,
    "partnership": unit,
    "counterattack": st.booleans(),
    "adjustment_speed_jpn": unit,
    "adjustment_speed_kor": unit,
})


@settings(max_examples=60, deadline=None)
@given(kw=mono_base, scales=st.tuples(st.floats(0.0, 2.0), st.floats(0.0, 2.0)),
       demands=st.lists(st.floats(0.0, 0.2), min_size=2, max_size=5, unique=True))
def test_more_us_demand_never_lowers_an_allys_burden_path(kw, scales, demands):
    """Deterministic runs, threat response up to twice the estimate and hostility up to twice the default."""
    kw = {**kw, "threat_scale": scales[0], "hostility_scale": scales[1]}
    demands = np.sort(demands)
    burden = simulate(Params.from_kwargs(**kw), {"us_demand": demands})["burden"]
    allies = [COUNTRIES.index(c) for c in ALLIES]
    steps = np.diff(burden[..., allies], axis=0)  # along increasing demand
    assert (steps >= -1e-12).all()


@settings(max_examples=40, deadline=None)
@given(kw=mono_base, threat_scale=st.floats(0.0, 10.0),
       scales=st.lists(st.floats(0.0, 5.0), min_size=2, max_size=5, unique=True))
def test_more_hostility_never_lowers_perceived_threat(kw, threat_scale, scales):
    scales = np.sort(scales)
    threat = simulate(Params.from_kwargs(**kw, threat_scale=threat_scale), {"hostility_scale": scales})["threat"]
    assert (np.diff(threat, axis=0) >= -1e-12).all()


def test_a_strongly_pressed_ally_does_not_overshoot_the_demand():
    """Aiming at the balance of pressure and response: no oscillation, whatever the insistence."""
    out = simulate(Params.from_kwargs(us_demand=0.035, adjustment_speed_jpn=1.0, max_change_jpn=1.0,
                                      backlash_gain_jpn=0.0, fiscal_drag_jpn=0.0, us_insistence=5.0))
    jpn = out["burden"][:, COUNTRIES.index("JPN")]
    assert (np.diff(jpn) >= -1e-12).all()
    assert jpn.max() <= 0.035


def test_more_hostility_raises_threat_and_the_demand_gap_raises_pressure():
    """The same checks on one run each, with strict increases where the mechanism is at work."""
    low = simulate(Params.from_kwargs(hostility_scale=0.5))
    high = simulate(Params.from_kwargs(hostility_scale=1.5))
    assert (high["threat"] > low["threat"]).all()
    ask = simulate(Params.from_kwargs(us_demand=0.035))
    jpn = COUNTRIES.index("JPN")
    assert ask["pressure"][-1, jpn] > 0 == low["pressure"][-1, jpn]  # Japan meets 2%, not 3.5%
