"""Per-run outcomes on hand-made paths whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from model.sim.outcomes import ESCALATION, crossing_year, escalation_class, security_dilemma_index, summarise

YEARS = np.arange(2024, 2041)
T = len(YEARS)


def regional(path: np.ndarray) -> str:
    burden = np.repeat(path[:, None], 2, axis=1)
    return ESCALATION[int(escalation_class(path, burden, np.array([0.5, 0.5])))]


@pytest.mark.parametrize("path, expected", [
    (np.full(T, 0.03), "stable"),
    (0.03 * (1 - 0.01 * np.arange(T)), "stable"),                      # drifts down
    (0.03 + 0.012 * (1 - np.exp(-np.arange(T) / 3)), "buildup"),         # +40%, settling
    (0.03 * (1.02 ** np.arange(T)), "spiral"),                           # 2%/yr and not slowing
    (0.03 + 0.0001 * np.arange(T) ** 2, "spiral"),                       # accelerating
    (0.03 * (1 + 0.04 * np.sin(np.arange(T))), "stable"),                # wiggles, no trend
])
def test_escalation_classes(path, expected):
    assert regional(path) == expected


def test_ending_at_a_cap_is_a_spiral_even_if_flat():
    burden = np.full((T, 2), 0.03)
    burden[-3:, 1] = 0.08
    code = escalation_class(np.full(T, 0.03), burden, np.array([0.5, 0.08]))
    assert ESCALATION[int(code)] == "spiral"


def test_crossing_years_and_never():
    burden = np.stack([np.linspace(0.015, 0.031, T), np.full(T, 0.06)], axis=1)
    np.testing.assert_array_equal(crossing_year(YEARS, burden, 0.02)[1], 2024)
    assert crossing_year(YEARS, burden, 0.02)[0] == 2029  # 0.015 + 5 * 0.001 = 0.020
    assert np.isnan(crossing_year(YEARS, burden, 0.035)[0])


def test_security_dilemma_index_counts_countries_spending_more_and_feeling_worse():
    spending = np.array([[1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 0.5, 2.0]])
    threat = np.array([[1.0, 1.0, 1.0, 1.0], [1.5, 0.5, 1.5, 1.5]])
    assert security_dilemma_index(spending, threat) == 0.5


def test_regional_burden_ignores_differential_growth():
    """Constant burdens with very different GDP growth: the regional burden must not move."""
    burden = np.tile([0.034, 0.017], (T, 1))
    gdp = np.stack([1.0 * 1.02 ** np.arange(T), 0.6 * 1.08 ** np.arange(T)], axis=1)
    out = summarise(YEARS, ("USA", "CHN"), burden, burden * gdp, gdp, np.ones((T, 2)), np.array([0.1, 0.1]))
    assert out["regional_burden_end"] == pytest.approx(out["regional_burden_start"], rel=1e-12)
    assert out["escalation"] == "stable"
    assert out["regional_spending_growth"] > 0.5


def test_a_model_that_has_not_stepped_has_a_summary():
    from model.sim.model import ArmsRaceModel

    s = ArmsRaceModel(rng=0).summary()
    assert s["escalation"] == "stable" and s["regional_burden_start"] == s["regional_burden_end"]


def test_model_paths_are_the_agent_table():
    from model.sim.model import ArmsRaceModel
    from model.sim.units import AGENT_VARS

    m = ArmsRaceModel(rng=2, threat_noise=0.2, countries=["JPN", "CHN", "USA"]).run()
    table, paths = m.agent_table(), m.paths()
    for v in AGENT_VARS:
        expected = table.pivot(index="year", columns="country", values=v)[list(m.inputs.countries)].to_numpy()
        np.testing.assert_array_equal(paths[v], expected)
