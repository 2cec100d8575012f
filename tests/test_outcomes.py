"""Per-run outcomes on hand-made paths whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from model.sim.outcomes import (
    ESCALATION,
    NOISE_BAND_SD,
    Counterfactual,
    crossing_year,
    escalation_class,
    noise_band,
    security_dilemma_index,
    summarise,
)

YEARS = np.arange(2024, 2041)
T = len(YEARS)


def klass(path: np.ndarray, cf: np.ndarray | None = None, radius: float = 0.0, band: float = 0.0,
          cap: float = 0.5) -> str:
    """Class of a two-country run (USA, CHN: one per bloc) whose burdens both follow ``path``."""
    burden = np.repeat(path[:, None], 2, axis=1)
    gdp = np.ones_like(burden)
    base = np.full_like(burden, path[0]) if cf is None else np.repeat(cf[:, None], 2, axis=1)
    counter = Counterfactual(base, np.ones_like(burden))
    return ESCALATION[int(escalation_class(burden, gdp, np.array([cap, cap]), counter, radius, band, ("USA", "CHN")))]


@pytest.mark.parametrize("path, expected", [
    (np.full(T, 0.03), "stable"),
    (0.03 * (1 - 0.01 * np.arange(T)), "stable"),                      # drifts down
    (0.03 + 0.012 * (1 - np.exp(-np.arange(T) / 3)), "buildup"),         # +40%, settling
    (0.03 * (1.02 ** np.arange(T)), "spiral"),                           # 2%/yr and not slowing, both blocs
    (0.03 + 0.0001 * np.arange(T) ** 2, "spiral"),                       # accelerating
    (0.03 * (1 + 0.04 * np.sin(np.arange(T))), "stable"),                # wiggles, no trend
])
def test_escalation_classes_against_the_start(path, expected):
    assert klass(path) == expected


def test_classes_are_relative_to_the_counterfactual():
    rising = 0.03 * (1.02 ** np.arange(T))
    # the same growth in the counterfactual (e.g. shocks or a drift every run shares): nothing to class
    assert klass(rising, cf=rising) == "stable"
    # a level shift above a rising counterfactual: a build-up, not a spiral
    assert klass(rising + 0.002, cf=rising) == "buildup"
    # growth beyond the counterfactual but within the noise band of the no-lever ensemble: not a spiral
    assert klass(rising, cf=np.full(T, 0.03), band=1.0) == "buildup"
    # a spiral must end above its start even when the counterfactual falls faster
    falling = 0.03 * (0.97 ** np.arange(T))
    assert klass(0.03 * (0.99 ** np.arange(T)), cf=falling) == "buildup"


def test_a_spiral_needs_a_closed_loop():
    """Growth in one bloc only (the other flat): the chain does not close unless the radius exceeds 1."""
    rising = 0.03 * (1.04 ** np.arange(T))
    burden = np.stack([rising, np.full(T, 0.03)], axis=1)
    gdp = np.ones_like(burden)
    cf = Counterfactual(np.full_like(burden, 0.03), np.ones_like(burden))
    caps = np.array([0.5, 0.5])
    assert ESCALATION[int(escalation_class(burden, gdp, caps, cf, 0.9, 0.0, ("USA", "CHN")))] == "buildup"
    assert ESCALATION[int(escalation_class(burden, gdp, caps, cf, 1.2, 0.0, ("USA", "CHN")))] == "spiral"


def test_the_measured_chain_needs_both_blocs_above_their_counterfactual_by_the_margin():
    """Both blocs rising against their counterfactuals closes the chain only when each is more than
    BUILDUP_MARGIN above it: co-movement of a few hundredths of a point is not action-reaction."""
    from model.sim.outcomes import BUILDUP_MARGIN, chain_closes

    cf = Counterfactual(np.full((T, 2), 0.03), np.ones((T, 2)))
    ramp = np.linspace(0.0, 1.0, T)[:, None] * np.ones((1, 2))
    for end, closes in ((0.5 * BUILDUP_MARGIN, False), (2 * BUILDUP_MARGIN, True)):
        burden = 0.03 + end * ramp
        assert bool(chain_closes(burden, np.ones((T, 2)), cf, ("USA", "CHN"))) is closes, end
    # one bloc well above, the other only just: open
    burden = 0.03 + ramp * np.array([0.01, 0.5 * BUILDUP_MARGIN])
    assert not chain_closes(burden, np.ones((T, 2)), cf, ("USA", "CHN"))


def test_ending_at_a_cap_the_counterfactual_does_not_reach_is_a_spiral():
    burden = np.full((T, 2), 0.03)
    burden[-3:, 1] = 0.08
    cf = Counterfactual(np.full((T, 2), 0.03), np.ones((T, 2)))
    code = escalation_class(burden, np.ones((T, 2)), np.array([0.5, 0.08]), cf, 1.5, 0.0, ("USA", "CHN"))
    assert ESCALATION[int(code)] == "spiral"
    # at the cap in the counterfactual too: the levers did not put it there
    cf = Counterfactual(burden.copy(), np.ones((T, 2)))
    code = escalation_class(burden, np.ones((T, 2)), np.array([0.5, 0.08]), cf, 1.5, 0.0, ("USA", "CHN"))
    assert ESCALATION[int(code)] == "stable"


def test_noise_band_is_the_spread_of_late_growth():
    rng = np.random.default_rng(0)
    burden = 0.03 + rng.normal(0, 0.001, size=(500, T, 2))
    gdp = np.ones_like(burden)
    band = noise_band(burden, gdp)
    # r = mean of two countries (sd 0.001 / sqrt 2); r_T - r_{T-w}: sd 0.001
    assert band == pytest.approx(NOISE_BAND_SD * 0.001, rel=0.1)
    assert noise_band(np.full((5, T, 2), 0.03), np.ones((5, T, 2))) == 0.0


def test_crossing_years_and_never():
    burden = np.stack([np.linspace(0.015, 0.031, T), np.full(T, 0.06)], axis=1)
    np.testing.assert_array_equal(crossing_year(YEARS, burden, 0.02)[1], 2024)
    assert crossing_year(YEARS, burden, 0.02)[0] == 2029  # 0.015 + 5 * 0.001 = 0.020
    assert np.isnan(crossing_year(YEARS, burden, 0.035)[0])


def test_security_dilemma_index_counts_countries_armed_and_less_secure_than_their_counterfactual():
    burden = np.array([[0.02] * 4, [0.03, 0.03, 0.01, 0.03]])
    threat = np.array([[1.0] * 4, [1.5, 0.5, 1.5, 1.5]])
    cf = Counterfactual(np.full((2, 4), 0.02), np.ones((2, 4)))
    # country 0: armed and more threatened; 1: armed, less threatened; 2: disarmed; 3: armed and threatened
    assert security_dilemma_index(burden, threat, cf) == 0.5
    # spending that rises with GDP alone is no dilemma: burdens equal to the counterfactual
    assert security_dilemma_index(cf.burden, threat, cf) == 0.0


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
