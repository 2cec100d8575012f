"""Batch engines (fast array kernel vs one Mesa model per run) and the stability indicator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.batch.engine import inputs_of, run_batch, simulate_fast
from model.errors import ParameterError
from model.sim import dynamics
from model.sim.inputs import build_inputs
from model.sim.model import ArmsRaceModel
from model.sim.outcomes import summarise
from model.sim.params import COUNTRIES, Params, specs
from model.sim.scenarios import load_scenario
from model.sim.stability import response_matrix, response_radius

# Parameters drawn at random for the equivalence test: globals, per-country responses and
# hostility; bounds chosen inside the declared ones so that every draw is a valid parameter set.
RANDOM_RANGES = {
    "us_demand": (0.0, 0.08), "us_insistence": (0.0, 3.0), "alliance_credibility": (0.0, 1.0),
    "credibility_after": (0.0, 1.0), "partnership": (0.0, 1.0), "hostility_scale": (0.2, 2.0),
    "threat_scale": (0.2, 4.0), "counterattack_boost": (0.0, 1.0), "depreciation": (0.03, 0.2),
    "backlash_decay": (0.0, 1.0), "crowding_out": (0.0, 0.5), "threat_noise": (0.0, 0.3),
    "budget_noise": (0.0, 0.2), "threat_sensitivity_chn": (0.0, 0.05), "threat_sensitivity_jpn": (0.0, 0.05),
    "adjustment_speed_kor": (0.0, 1.0), "pressure_response_phl": (0.0, 3.0), "fiscal_drag_jpn": (0.0, 2.0),
    "backlash_gain_usa": (0.0, 5.0), "hostility_jpn_chn": (0.0, 1.0), "hostility_chn_usa": (0.0, 1.0),
    "burden_shifting_usa": (0.0, 2.0), "ally_response_kor": (-0.02, 0.02), "exo_threat_rus": (0.0, 3.0),
    "threat_saturation_prk": (0.0, 1.0), "coefficient_draws": (0.0, 1.0), "prk_draws": (0.0, 1.0),
}


BOOLEANS = ("coefficient_draws", "prk_draws")


def random_batch(rng: np.random.Generator, r: int, k: int) -> dict[str, np.ndarray]:
    names = rng.choice(sorted(RANDOM_RANGES), size=k, replace=False)
    return {n: (rng.random(r) < 0.5) if n in BOOLEANS else rng.uniform(*RANDOM_RANGES[n], size=r) for n in names}


@pytest.mark.parametrize("draw", range(4))
def test_fast_and_mesa_engines_give_identical_tables(draw):
    rng = np.random.default_rng(1000 + draw)
    base = Params.from_kwargs(threat_noise=0.08, budget_noise=0.05,
                              counterattack=bool(draw % 2), credibility_shock_year=2030 * (draw % 2),
                              until=2036)
    varied = random_batch(rng, 5, 8)
    seeds = rng.integers(0, 2**32, size=5)
    runs_f, agents_f = run_batch(base, varied, seeds, engine="fast")
    runs_m, agents_m = run_batch(base, varied, seeds, engine="mesa")
    assert len(agents_f) == 5 * 13 * 7
    num = agents_f.select_dtypes("number").columns
    np.testing.assert_allclose(agents_f[num].to_numpy(), agents_m[num].to_numpy(), rtol=0, atol=1e-12)
    # in fact bit for bit, outcomes and stability included
    pd.testing.assert_frame_equal(agents_f, agents_m, check_exact=True)
    pd.testing.assert_frame_equal(runs_f, runs_m, check_exact=True)
    # noise really was on: replicates of the first parameter set with other seeds differ
    other, _ = run_batch(base, {k: v[:1].repeat(2) for k, v in varied.items()}, [seeds[0], seeds[0] + 1])
    assert other.regional_burden_end[0] == runs_f.regional_burden_end[0]
    assert other.regional_burden_end[1] != other.regional_burden_end[0]


def test_engines_agree_when_the_base_is_the_default_parameter_set():
    # Relations varied over a base equal to the defaults: the anchor must still be the defaults.
    base = Params.from_kwargs()
    varied = {"alliance_credibility": np.array([0.3, 0.8]), "partnership": np.array([0.1, 0.9])}
    runs_f, agents_f = run_batch(base, varied, [1, 2], engine="fast")
    runs_m, agents_m = run_batch(base, varied, [1, 2], engine="mesa")
    pd.testing.assert_frame_equal(agents_f, agents_m, check_exact=True)
    pd.testing.assert_frame_equal(runs_f, runs_m, check_exact=True)


def test_mesa_engine_table_is_the_models_own_table():
    base = Params.from_kwargs(threat_noise=0.1, until=2030)
    _, agents = run_batch(base, {"us_demand": np.array([0.04])}, [7], engine="mesa", run_ids=[42])
    model = ArmsRaceModel(params=base.replace(us_demand=0.04), rng=7).run()
    expected = model.agent_table()
    assert (agents.run == 42).all()
    pd.testing.assert_frame_equal(agents.drop(columns="run"), expected, check_exact=True, check_dtype=False)


def test_runs_table_columns_and_outcomes():
    base = Params.from_kwargs(until=2035)
    runs, agents = run_batch(base, {"us_demand": np.array([0.02, 0.05])}, [3, 4], variables=("burden",))
    outcome_cols = list(summarise(np.arange(2024, 2036), COUNTRIES, *(np.ones((12, 7)),) * 4,
                                  np.ones(7)).keys())
    assert outcome_cols[-1] == "stability_radius"
    assert list(runs.columns) == ["run", "seed", "us_demand", *outcome_cols]
    assert runs.run.tolist() == [0, 1] and runs.seed.tolist() == [3, 4]
    assert runs.escalation.isin(["stable", "buildup", "spiral"]).all()
    assert list(agents.columns) == ["run", "year", "country", "burden"]
    assert agents.year.min() == 2024 and agents.year.max() == 2035
    assert agents.country.iloc[:7].tolist() == list(COUNTRIES)
    # more US demand never lowers an ally's burden path (deterministic runs)
    jpn = agents[agents.country == "JPN"].pivot(index="year", columns="run", values="burden")
    assert (jpn[1] >= jpn[0] - 1e-15).all() and jpn[1].iloc[-1] > jpn[0].iloc[-1]
    runs2, none = run_batch(base, {"us_demand": np.array([0.02, 0.05])}, [3, 4], paths=False)
    assert none is None
    pd.testing.assert_frame_equal(runs, runs2)


def test_zero_noise_skips_draws_without_changing_results():
    base = Params.from_kwargs(until=2032)
    a, pa = run_batch(base, {"us_demand": np.array([0.03, 0.03])}, [1, 2])
    b, pb = run_batch(base, {"us_demand": np.array([0.03, 0.03])}, [1, 2], engine="mesa")
    pd.testing.assert_frame_equal(pa, pb, check_exact=True)
    # deterministic: the two seeds give the same paths
    cols = ["burden", "threat"]
    np.testing.assert_array_equal(pa[pa.run == 0][cols].to_numpy(), pa[pa.run == 1][cols].to_numpy())


def test_replicates_without_varied_parameters():
    base = Params.from_kwargs(threat_noise=0.1, until=2030)
    runs, agents = run_batch(base, {}, [5, 6, 7])
    assert len(runs) == 3 and runs.final_burden_chn.nunique() == 3
    model = ArmsRaceModel(params=base, rng=6).run()
    np.testing.assert_array_equal(agents[agents.run == 1].burden.to_numpy(), model.agent_table().burden.to_numpy())


def test_bad_batches_are_rejected():
    base = Params.from_kwargs()
    with pytest.raises(ParameterError, match="one value per seed"):
        run_batch(base, {"us_demand": np.array([0.02, 0.03])}, [1])
    with pytest.raises(ParameterError, match="'engine'"):
        run_batch(base, {"us_demand": np.array([0.02])}, [1], engine="turbo")
    with pytest.raises(ParameterError, match="'us_demand'.*0.9"):
        run_batch(base, {"us_demand": np.array([0.9])}, [1])


# --- stability indicator -----------------------------------------------------------------------------

def linear_params(rng: np.random.Generator, n_extra: int = 0) -> Params:
    richardson = load_scenario("richardson").params
    kw = {"threat_scale": float(rng.uniform(0.5, 2)), "hostility_scale": float(rng.uniform(0.5, 2)),
          "threat_sensitivity_jpn": float(rng.uniform(0, 0.5)), "threat_sensitivity_chn": float(rng.uniform(0, 0.5)),
          "hostility_jpn_chn": float(rng.uniform(0, 1)), "hostility_chn_jpn": float(rng.uniform(0, 1))}
    return richardson.replace(**kw)


def year_map_radius(a: np.ndarray, speed: np.ndarray) -> float:
    j = np.eye(len(speed)) * (1 - speed) + speed[:, None] * a
    return float(np.abs(np.linalg.eigvals(j)).max())


@pytest.mark.parametrize("draw", range(5))
def test_linear_model_radius_is_the_analytic_year_map(draw):
    rng = np.random.default_rng(draw)
    p = linear_params(rng)
    x = build_inputs(p)
    state = dynamics.start_state(x)
    a = response_matrix(x, state)
    s = np.array([p["threat_sensitivity_jpn"], p["threat_sensitivity_chn"]]) * p["threat_scale"]
    h = np.array([[0.0, p["hostility_jpn_chn"]], [p["hostility_chn_jpn"], 0.0]]) * p["hostility_scale"]
    expected = s[:, None] * h
    np.testing.assert_allclose(a, expected, rtol=1e-7, atol=1e-12)
    speed = np.array([p["adjustment_speed_jpn"], p["adjustment_speed_chn"]])
    assert response_radius(x, state) == pytest.approx(year_map_radius(expected, speed), rel=1e-7)


def test_richardson_radius_exceeds_one_exactly_when_k_l_exceeds_a_b():
    # Scenario: a = b = 0.2, k = 0.1, l = 0.08: J = [[0.8, 0.1], [0.08, 0.8]], radius 0.8 + sqrt(0.008)
    p = load_scenario("richardson").params
    x = build_inputs(p)
    assert float(response_radius(x, dynamics.start_state(x))) == pytest.approx(0.8 + np.sqrt(0.008), rel=1e-8)
    # Both sensitivities 0.5 * threat_scale, hostility 1: k = l = 0.2 * 0.5 * scale; radius 0.8 + k
    for scale, unstable in ((1.5, False), (1.9, False), (2.1, True), (3.0, True)):
        q = p.replace(threat_sensitivity_chn=0.5, threat_scale=scale)
        x = build_inputs(q)
        k = 0.2 * 0.5 * scale
        assert (k * k > 0.2 * 0.2) is unstable
        radius = float(response_radius(x, dynamics.start_state(x)))
        assert radius == pytest.approx(0.8 + k, rel=1e-8)
        assert (radius > 1) is unstable
    # unequal speeds: the condition is k l > a b whatever the speeds (mu = (-(a+b) + sqrt((a-b)^2 + 4kl)) / 2)
    for a_, b_, s1, s2 in ((0.05, 0.9, 0.5, 0.4), (0.05, 0.9, 2.0, 1.6), (0.3, 0.1, 1.2, 0.7), (0.3, 0.1, 0.9, 0.7)):
        q = p.replace(adjustment_speed_jpn=a_, adjustment_speed_chn=b_, threat_sensitivity_jpn=s1,
                      threat_sensitivity_chn=s2)
        x = build_inputs(q)
        k, l_ = a_ * s1, b_ * s2
        assert (float(response_radius(x, dynamics.start_state(x))) > 1) is (k * l_ > a_ * b_)
    # and the dynamics agree: converging to the analytic equilibrium, or running to the cap
    s = 0.75
    x_star = (0.01 + s * 0.015) / (1 - s * s)
    stable = ArmsRaceModel(params=p.replace(threat_sensitivity_chn=0.5, threat_scale=1.5, until=2100), rng=0).run()
    assert stable.countries[0].burden == pytest.approx(x_star, rel=0.05)
    runaway = ArmsRaceModel(params=p.replace(threat_sensitivity_chn=0.5, threat_scale=3.0, until=2100), rng=0).run()
    assert runaway.countries[0].burden == 1.0


def test_log_model_response_matches_hand_derivative():
    base = Params.from_kwargs(counterattack=True, counterattack_year=2024, until=2030, us_demand=0.05,
                              threat_sensitivity_prk=0.02, threat_saturation_prk=0.1)
    varied = {"alliance_credibility": np.array([0.3, 0.9]), "partnership": np.array([0.2, 0.7])}
    x = build_inputs(base, varied)
    states = dynamics.simulate(x)
    state = dynamics.State(*(states[f][:, -1] for f in dynamics.State._fields))
    a = response_matrix(x, state)
    sched = dynamics.schedule(x, x.until)
    g = state.gdp
    hostile_w = x.hostility_scale[..., None] * x.hostility * (x.theatre_share * sched.doctrine * g)[:, None, :]
    e = (hostile_w * state.burden[:, None, :]).sum(-1)                         # hostile spending E_i
    support_w = sched.support * (x.theatre_share * g)[:, None, :]
    s_ = (support_w * state.burden[:, None, :]).sum(-1)                        # support spending S_i
    threat = np.log(1 + e) + sched.exo
    sat = np.where(x.saturation > 0, 1 / np.cosh((threat - x.threat_ref) / np.where(x.saturation > 0,
                                                                                   x.saturation, 1)) ** 2, 1.0)
    d_own = ((x.sensitivity * sat)[..., None] * hostile_w / (1 + e[..., None])
             + x.ally_response[..., None] * support_w / (1 + s_[..., None]))
    # compliance: an ally whose own preference lies between 2% and the demand meets a share c of the gap
    own = (x.intercept + x.sensitivity * dynamics.saturate(threat, x.threat_ref, x.saturation)
           + x.ally_response * np.log(1 + s_))
    pressed = (own > dynamics.REFERENCE_DEMAND) & (own < sched.demand)
    factor = np.where(pressed, 1.0 - np.broadcast_to(x.compliance, own.shape), 1.0)
    assert (factor < 1).any() and (x.saturation > 0).any()  # both terms matter here
    np.testing.assert_allclose(a, d_own * factor[..., None], rtol=1e-6, atol=1e-12)
    # batched = one run at a time
    one = build_inputs(base.replace(alliance_credibility=0.9, partnership=0.7))
    s1 = dynamics.State(*(f[1] for f in state))
    np.testing.assert_allclose(response_matrix(one, s1), a[1], rtol=1e-9)


def test_fast_engine_radius_is_at_the_start_under_the_runs_policies():
    base = Params.from_kwargs(until=2030)
    varied = {"us_demand": np.array([0.02, 0.05])}
    p = simulate_fast(base, varied, np.array([0, 1]))
    x = inputs_of(base, varied, np.array([0, 1]))
    np.testing.assert_array_equal(p.radius, response_radius(x, dynamics.start_state(x), x.until))
    assert p.radius[0] != p.radius[1]  # the full US demand changes the compliance part of the map
    assert p.radius.shape == (2,) and np.all(p.radius >= 0)


def test_random_parameters_are_within_declared_bounds():
    table = specs()
    for name, (lo, hi) in RANDOM_RANGES.items():
        if table[name].kind == "bool":
            continue
        assert table[name].low <= lo < hi <= table[name].high, name


def test_engines_agree_with_coefficient_and_north_korea_draws():
    base = Params.from_kwargs(coefficient_draws=True, prk_draws=True, budget_noise=0.02, until=2034)
    varied = {"us_demand": np.array([0.02, 0.035, 0.05])}
    runs_f, agents_f = run_batch(base, varied, [11, 12, 13], engine="fast")
    runs_m, agents_m = run_batch(base, varied, [11, 12, 13], engine="mesa")
    pd.testing.assert_frame_equal(agents_f, agents_m, check_exact=True)
    pd.testing.assert_frame_equal(runs_f, runs_m, check_exact=True)
    # the draws are on: North Korea's start burden differs run by run, within the published range
    prk0 = agents_f[(agents_f.year == 2024) & (agents_f.country == "PRK")].burden
    assert prk0.nunique() == 3 and prk0.between(0.15, 0.35).all()
    # the draws matter: without them the paths differ
    plain, _ = run_batch(base.replace(coefficient_draws=False, prk_draws=False), varied, [11, 12, 13])
    assert not np.allclose(plain.final_burden_jpn, runs_f.final_burden_jpn)



@pytest.mark.parametrize("threat_scale", [1.0, 8.0, 30.0])
def test_the_mesa_models_own_summary_is_the_batch_engines_runs_table(threat_scale):
    """ArmsRaceModel.summary() (what `armsrace run`, the report and the browser show) against the fast
    engine's runs table: the same outcomes, bit for bit, with shocks and draws on and levers moved.

    The two compute their counterfactuals differently -- the model from the baseline's levers
    (params.counterfactual) with its own draws, the engine from the batch base (counterfactual.matched)
    -- so they agree only if both keep the same randomness and reset the same levers. The base here is
    the defaults plus randomness, where both counterfactuals must be the same run."""
    base = Params.from_kwargs(threat_noise=0.1, budget_noise=0.05, coefficient_draws=True, prk_draws=True,
                              until=2040)
    varied = {"us_demand": np.array([0.035, 0.02, 0.05, 0.035]),
              "threat_scale": np.array([threat_scale, 1.0, threat_scale, 2 * threat_scale])}
    seeds = np.array([3, 11, 42, 2**40])
    runs, _ = run_batch(base, varied, seeds, engine="fast", paths=False)
    summaries = []
    for i, seed in enumerate(seeds):
        model = ArmsRaceModel(params=base.replace(**{k: v[i].item() for k, v in varied.items()}), rng=int(seed))
        summaries.append(model.run().summary())
    shared = [c for c in runs.columns if c in summaries[0]]
    assert set(summaries[0]) <= set(shared) and {"escalation", "regional_excess_end", "security_dilemma_index",
                                                 "final_burden_jpn", "stability_radius", "cross_3_5pct_jpn",
                                                 "loop_closes"} <= set(shared)
    for i, summary in enumerate(summaries):
        for col in shared:
            batch = runs[col].iloc[i]
            batch = None if col.startswith("cross_") and np.isnan(batch) else batch
            assert summary[col] == batch or (summary[col] != summary[col] and batch != batch), \
                (i, col, summary[col], batch)
    # the runs are not trivial: the lever moved the outcome against the counterfactual
    assert (runs.regional_excess_end.to_numpy()[[0, 2]] != 0).all()
    if threat_scale == 30.0:
        assert runs.escalation.nunique() > 1


def test_counterfactual_reuses_the_draws_the_fast_engine_made(monkeypatch):
    """matched() given the runs' draws gives the counterfactual it draws itself, bit for bit, and the fast
    engine passes its draws on instead of drawing every run's random numbers a second time."""
    from model.sim import counterfactual
    from model.sim.inputs import draw_runs

    base = Params.from_kwargs(threat_noise=0.1, budget_noise=0.05, coefficient_draws=True, until=2032)
    varied = {"us_demand": np.array([0.03, 0.05, 0.04]), "threat_noise": np.array([0.1, 0.2, 0.0])}
    seeds = np.array([5, 6, 7])
    own_cf, own_gdp = counterfactual.matched(base, seeds, varied)
    given_cf, given_gdp = counterfactual.matched(base, seeds, varied, draws=draw_runs(seeds, 8, 7))
    for a, b in ((own_cf.burden, given_cf.burden), (own_cf.threat, given_cf.threat), (own_gdp, given_gdp)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="3 runs of 8 years"):
        counterfactual.matched(base, seeds, varied, draws=draw_runs(seeds[:2], 8, 7))

    before, _ = run_batch(base, varied, seeds, paths=False, band=0.01)
    calls = []
    monkeypatch.setattr(counterfactual, "draw_runs", lambda *a: calls.append(a) or draw_runs(*a))
    after, _ = run_batch(base, varied, seeds, paths=False, band=0.01)
    assert calls == []  # no second draw of the runs' random numbers
    pd.testing.assert_frame_equal(before, after, check_exact=True)
    counterfactual.matched(base, seeds, varied)
    assert len(calls) == 1  # without draws given, matched still draws them itself

def test_run_draws_are_fixed_in_order_and_prefix_stable():
    """Coefficient and North Korea draws first, then the shocks year by year: a shorter horizon sees the
    same draws and the first years of the same shocks, and the flags never change what is drawn."""
    from model.sim.inputs import draw_run

    long, short = (draw_run(np.random.default_rng(42), t, 7) for t in (16, 6))
    np.testing.assert_array_equal(long.coefficients, short.coefficients)
    np.testing.assert_array_equal(long.prk, short.prk)
    np.testing.assert_array_equal(long.noise[:6], short.noise)
    # and so a run to 2030 is the first years of the same run to 2040, draws and shocks included
    base = Params.from_kwargs(coefficient_draws=True, prk_draws=True, budget_noise=0.05, threat_noise=0.1)
    _, a = run_batch(base, {}, [7], variables=("burden",))
    _, b = run_batch(base.replace(until=2030), {}, [7], variables=("burden",))
    np.testing.assert_array_equal(a[a.year <= 2030]["burden"].to_numpy(), b["burden"].to_numpy())
