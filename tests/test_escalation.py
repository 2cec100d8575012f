"""The main experiment and the escalation classes (issue: escalation outcomes that mean something).

* On the main experiment: no spiral ends at or below its start; no run with a stability radius above
  1 stays near its counterfactual; every class occurs.
* Every class is reachable by a documented setting (README, "Escalation classes").
"""

from __future__ import annotations

import pytest
from helpers import REPO

from model.batch.engine import run_batch
from model.batch.experiments import load_experiment
from model.sim.model import ArmsRaceModel
from model.sim.outcomes import BUILDUP_MARGIN, LOOP_RADIUS
from model.sim.scenarios import load_scenario

MAIN = REPO / "experiments" / "escalation.toml"
DOCUMENTED = {  # README, "Escalation classes": one setting per class (single runs, seed 0)
    "stable": {},
    "buildup": {"hostility_scale": 1.5, "threat_scale": 2.0},
    "spiral": {"hostility_scale": 1.5, "threat_scale": 32.0},
}


@pytest.fixture(scope="module")
def main_runs():
    exp = load_experiment(MAIN)
    run, point, rep = exp.run_index(0, exp.n_runs)
    varied = {c: exp.points[c].to_numpy()[point] for c in exp.points.columns}
    runs, _ = run_batch(exp.base, varied, exp.seeds(run, rep), paths=False)
    return runs


def test_no_spiral_ends_at_or_below_its_start(main_runs):
    spirals = main_runs[main_runs["escalation"] == "spiral"]
    assert len(spirals) > 0
    assert (spirals["regional_burden_end"] > spirals["regional_burden_start"]).all()


def test_no_unstable_run_stays_near_its_counterfactual(main_runs):
    """A radius above 1 at the start (an unstable rest point under the run's policies) means the run
    leaves its counterfactual: up into a spiral, or down toward the floors (mutual restraint)."""
    unstable = main_runs[main_runs["stability_radius"] > LOOP_RADIUS]
    assert len(unstable) > 0
    assert (unstable["regional_excess_end"].abs() > BUILDUP_MARGIN).all()
    up = unstable[unstable["regional_excess_end"] > 0]
    assert len(up) > 0 and (up["escalation"] == "spiral").mean() > 0.95


def test_every_class_occurs_in_the_main_experiment(main_runs):
    assert set(main_runs["escalation"]) == {"stable", "buildup", "spiral"}
    # and the classes are not the shocks: every cell of the counterfactual's own levers is stable
    base_cell = main_runs[(main_runs.threat_scale == 1) & (main_runs.hostility_scale == 1)
                          & (main_runs.us_demand == 0.02) & (main_runs.alliance_credibility == 0.8)
                          & ~main_runs.counterattack.astype(bool)]
    assert len(base_cell) == 8 and (base_cell["escalation"] == "stable").all()
    assert (base_cell["regional_excess_end"] == 0).all()


@pytest.mark.parametrize("expected, settings", DOCUMENTED.items())
def test_each_class_is_reachable_by_its_documented_setting(expected, settings):
    params = load_scenario("baseline").params.replace(**settings)
    assert ArmsRaceModel(params=params, rng=0).run().summary()["escalation"] == expected


def test_the_readme_states_the_thresholds_of_the_code():
    """Each threshold is quoted where the README defines what it bounds (its 'Escalation classes'
    section), with the code's value: change one without the other and this fails."""
    from model.sim import outcomes
    from model.sim.counterfactual import BAND_RUNS

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Escalation classes"):]
    section = " ".join(section[:section.index("\n## ")].split())  # one line: fragments may span line breaks
    margin = f"{100 * outcomes.BUILDUP_MARGIN:g} percentage point"
    for fragment in (f"the stability radius of the year-on-year map exceeds {outcomes.LOOP_RADIUS:g}",
                     f"end above their counterfactuals by more than {margin} each",  # the measured chain
                     f"by more than {100 * outcomes.SPIRAL_GROWTH:g} percentage point over the last *w* years",
                     f"{outcomes.NOISE_BAND_SD:g} standard deviations of the same growth",
                     f"({BAND_RUNS} counterfactual runs)",
                     f"at least {100 * outcomes.SPIRAL_PERSISTENCE:g}% of its growth",
                     f"with r above its counterfactual by more than {margin} and the noise band",  # the cap clause
                     f"r ends above its counterfactual by more than {margin} of GDP",  # buildup
                     f"(by more than {100 * outcomes.DILEMMA_BURDEN:g} pp)",
                     f"(by more than {100 * outcomes.DILEMMA_THREAT:g}%)"):
        assert fragment in section, fragment
    text = readme
    for name, settings in DOCUMENTED.items():
        for key, value in settings.items():
            assert f"{key}={value:g}" in text, (name, key)
