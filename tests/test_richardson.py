"""Analytic tier: the model reduces to Richardson's arms-race recurrence (docs/MODEL.md).

x' = x + k*y - a*x + g,  y' = y + l*x - b*y + h  with the richardson scenario's mapping
a = adjustment_speed, k = a * threat_sensitivity * hostility, g = a * baseline_burden.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import simulate

from model.sim.model import ArmsRaceModel
from model.sim.params import COUNTRIES, Params, country_param
from model.sim.scenarios import load_scenario

SCENARIO = load_scenario("richardson").params


def coefficients(p: Params) -> tuple[float, ...]:
    a, b = p.country("adjustment_speed", "JPN"), p.country("adjustment_speed", "CHN")
    k = a * p.country("threat_sensitivity", "JPN") * p["hostility_jpn_chn"]
    l_ = b * p.country("threat_sensitivity", "CHN") * p["hostility_chn_jpn"]
    g, h = a * p.country("baseline_burden", "JPN"), b * p.country("baseline_burden", "CHN")
    return a, b, k, l_, g, h


def recurrence(x0: float, y0: float, steps: int, a, b, k, l_, g, h) -> np.ndarray:
    out = [(x0, y0)]
    x, y = x0, y0
    for _ in range(steps):
        x, y = x + k * y - a * x + g, y + l_ * x - b * y + h
        out.append((x, y))
    return np.array(out)


def model_path(p: Params) -> np.ndarray:
    table = ArmsRaceModel(params=p, rng=0).run().agent_table()
    return table.pivot(index="year", columns="country", values="burden")[["JPN", "CHN"]].to_numpy()


def test_scenario_is_the_stable_textbook_case():
    a, b, k, l_, g, h = coefficients(SCENARIO)
    assert (a, b) == (0.2, 0.2)
    assert k == pytest.approx(0.1) and l_ == pytest.approx(0.08)
    assert k * l_ < a * b


def test_model_follows_the_recurrence_step_by_step():
    path = model_path(SCENARIO)
    expected = recurrence(*path[0], len(path) - 1, *coefficients(SCENARIO))
    np.testing.assert_allclose(path, expected, rtol=0, atol=1e-14)


def test_stable_case_converges_to_the_analytic_equilibrium():
    p = SCENARIO.replace(until=2150)
    a, b, k, l_, g, h = coefficients(p)
    x_star = (b * g + k * h) / (a * b - k * l_)
    y_star = (a * h + l_ * g) / (a * b - k * l_)
    assert (x_star, y_star) == pytest.approx((0.021875, 0.02375))  # the values in the scenario file
    path = model_path(p)
    np.testing.assert_allclose(path[-1], [x_star, y_star], rtol=0, atol=1e-8)
    gaps = np.abs(path - [x_star, y_star]).max(axis=1)
    assert gaps[-1] < gaps[0] * 1e-6


def test_unstable_case_diverges_and_still_follows_the_recurrence():
    p = SCENARIO.replace(threat_sensitivity_jpn=1.5, threat_sensitivity_chn=1.2, until=2060)
    a, b, k, l_, g, h = coefficients(p)
    assert k * l_ > a * b
    path = model_path(p)
    np.testing.assert_allclose(path, recurrence(*path[0], len(path) - 1, a, b, k, l_, g, h),
                               rtol=1e-12, atol=1e-15)
    x_star = (b * g + k * h) / (a * b - k * l_)  # negative: an unreachable, repelling equilibrium
    dist = np.abs(path[:, 0] - x_star)
    assert np.all(np.diff(dist[5:]) > 0)
    # deviations from the fixed point grow like the dominant eigenvalue of [[1-a, k], [l, 1-b]]
    rho = 1 - (a + b) / 2 + np.sqrt(((a - b) / 2) ** 2 + k * l_)
    assert rho > 1
    growth = (path[-1, 0] - x_star) / (path[-11, 0] - x_star)
    assert growth == pytest.approx(rho ** 10, rel=1e-3)


def linear_seven(sensitivity: float) -> Params:
    """All seven countries in the linear model, every limit off: b' = M b + c."""
    kw: dict = {"threat_model": "linear", "anchor": False, "us_insistence": 0.0, "until": 2124,
                "nato_europe_target": 0.02}
    for iso in COUNTRIES:
        kw |= {country_param(f, iso): v for f, v in (
            ("threat_sensitivity", sensitivity), ("pressure_response", 0.0), ("fiscal_drag", 0.0),
            ("backlash_gain", 0.0), ("burden_floor", 0.0), ("burden_cap", 1.0), ("max_change", 1.0),
            ("floor_target", 0.0), ("exo_threat", 0.0), ("burden_shifting", 0.0),
            ("baseline_burden", 0.01), ("initial_burden", 0.02), ("ally_response", 0.0),
            ("threat_saturation", 0.0), ("adjustment_speed", 0.25))}
    return Params.from_kwargs(**kw)


@pytest.mark.parametrize("sensitivity", [0.3, 1.5])
def test_n_countries_match_the_matrix_recurrence_and_its_spectral_radius(sensitivity):
    p = linear_seven(sensitivity)
    from model.sim.inputs import build_inputs

    x = build_inputs(p)
    alpha, theta = x.speed, x.sensitivity
    m = np.eye(7) - np.diag(alpha) + np.diag(alpha * theta) @ x.hostility
    c = alpha * x.intercept
    b = [x.burden0]
    for _ in x.years:
        b.append(m @ b[-1] + c)
    expected = np.array(b)
    burden = simulate(p)["burden"]
    rho = max(abs(np.linalg.eigvals(m)))
    if rho < 1:
        np.testing.assert_allclose(burden, expected, rtol=1e-12)
        fixed = np.linalg.solve(np.eye(7) - m, c)
        np.testing.assert_allclose(burden[-1], fixed, atol=1e-6)
    else:
        # diverges until the cap binds; before that it is the matrix recurrence
        free = (expected < 1.0).all(axis=1)
        np.testing.assert_allclose(burden[free], expected[free], rtol=1e-12)
        assert (burden[-1] == 1.0).any()
    assert (rho < 1) == (sensitivity == 0.3)
