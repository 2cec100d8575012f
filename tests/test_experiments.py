"""Experiment files: designs (grid, Latin hypercube, Sobol), seeds, run ids and every rejection path."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from model.batch.experiments import load_experiment
from model.errors import ParameterError

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GRID = """
[experiment]
base = "baseline"
until = 2030
[parameters]
us_demand = [0.02, 0.035, 0.05]
threat_sensitivity_chn = { low = 0.0, high = 0.02, steps = 5 }
threat_scale = { low = 0.5, high = 2.0, distribution = "loguniform", steps = 3 }
[replicates]
count = 2
root_seed = 11
"""


def test_grid_size_values_and_order(tmp_path):
    exp = load_experiment(write(tmp_path, GRID))
    assert exp.n_points == 3 * 5 * 3 and exp.n_runs == 90 and exp.replicates == 2
    pts = exp.points
    assert list(pts.columns) == ["us_demand", "threat_sensitivity_chn", "threat_scale"]
    expected = list(itertools.product([0.02, 0.035, 0.05], np.linspace(0, 0.02, 5), [0.5, 1.0, 2.0]))
    np.testing.assert_allclose(pts.to_numpy(), np.array(expected), rtol=1e-15, atol=0)
    assert exp.base["until"] == 2030


def test_run_ids_are_design_point_major(tmp_path):
    exp = load_experiment(write(tmp_path, GRID))
    run, point, rep = exp.run_index(0, exp.n_runs)
    np.testing.assert_array_equal(run, point * exp.replicates + rep)
    assert point.tolist()[:5] == [0, 0, 1, 1, 2] and rep.tolist()[:5] == [0, 1, 0, 1, 0]


def test_root_seed_scheme_matches_seedsequence_spawn(tmp_path):
    exp = load_experiment(write(tmp_path, GRID))
    run, _, rep = exp.run_index(0, exp.n_runs)
    children = np.random.SeedSequence(11).spawn(exp.n_runs)
    expected = [c.generate_state(1)[0] for c in children]
    np.testing.assert_array_equal(exp.seeds(run, rep), expected)
    # a seed depends on the run id only: any slice gives the same seeds
    run2, _, rep2 = exp.run_index(37, 52)
    np.testing.assert_array_equal(exp.seeds(run2, rep2), expected[37:52])
    assert len(set(expected)) == exp.n_runs


def test_seed_list_is_per_replicate(tmp_path):
    text = GRID.replace("count = 2\nroot_seed = 11", "seeds = [5, 9]")
    exp = load_experiment(write(tmp_path, text))
    run, _, rep = exp.run_index(0, 8)
    assert exp.seeds(run, rep).tolist() == [5, 9] * 4
    assert exp.seeds_record() == {"list": [5, 9]} and exp.replicates == 2


def lhs_text(samples: int, extra: str = "") -> str:
    return f"""
[parameters]
us_demand = {{ low = 0.02, high = 0.05 }}
alliance_credibility = {{ low = 0.2, high = 1.0 }}
threat_scale = {{ low = 0.5, high = 4.0, distribution = "loguniform" }}
depreciation = {{ low = 0.04, high = 0.12, distribution = "normal", mean = 0.08, sd = 0.02 }}
{extra}
[design]
kind = "lhs"
samples = {samples}
seed = 3
"""


def test_latin_hypercube_one_sample_per_stratum(tmp_path):
    n = 40
    exp = load_experiment(write(tmp_path, lhs_text(n)))
    pts = exp.points
    assert exp.n_points == n
    # back to the unit interval through each distribution's CDF, then one point per 1/n stratum
    from scipy import stats

    units = {
        "us_demand": (pts.us_demand - 0.02) / 0.03,
        "alliance_credibility": (pts.alliance_credibility - 0.2) / 0.8,
        "threat_scale": np.log(pts.threat_scale / 0.5) / np.log(8.0),
        "depreciation": stats.truncnorm.cdf(pts.depreciation, -2, 2, loc=0.08, scale=0.02),
    }
    for name, u in units.items():
        strata = np.floor(np.asarray(u) * n + 1e-9).astype(int)
        assert sorted(strata) == list(range(n)), name
    assert pts.us_demand.between(0.02, 0.05).all() and pts.depreciation.between(0.04, 0.12).all()
    # seeded: same file, same design; another seed, another design
    assert exp.points.equals(load_experiment(write(tmp_path, lhs_text(n), "b.toml")).points)
    other = load_experiment(write(tmp_path, lhs_text(n).replace("seed = 3", "seed = 4"), "c.toml"))
    assert not np.allclose(other.points.us_demand, pts.us_demand)


def test_lhs_rounds_integer_parameters(tmp_path):
    exp = load_experiment(write(tmp_path, lhs_text(12, "us_demand_year = { low = 2026, high = 2035 }")))
    years = exp.points.us_demand_year
    assert years.dtype == np.int64 and years.between(2026, 2035).all()


@pytest.mark.parametrize("second_order,factor", [(True, lambda d: 2 * d + 2), (False, lambda d: d + 2)])
def test_sobol_sample_count_and_problem(tmp_path, second_order, factor):
    text = lhs_text(1).replace('kind = "lhs"\nsamples = 1', f'kind = "sobol"\nn = 16\nsecond_order = '
                                                            f'{str(second_order).lower()}')
    exp = load_experiment(write(tmp_path, text))
    d = 4
    assert exp.n_points == 16 * factor(d)
    rec = exp.design_record()
    assert rec["kind"] == "sobol" and rec["n"] == 16 and rec["calc_second_order"] is second_order
    assert rec["problem"]["names"] == ["us_demand", "alliance_credibility", "threat_scale", "depreciation"]
    assert rec["problem"]["dists"] == ["unif", "unif", "logunif", "truncnorm"]
    assert rec["problem"]["bounds"][3] == [0.04, 0.12, 0.08, 0.02]
    pts = exp.points
    assert pts.threat_scale.between(0.5, 4.0).all() and pts.alliance_credibility.between(0.2, 1.0).all()
    # Saltelli structure: row 1 (A with column 0 from B) shares columns 1.. with row 0 (A)
    np.testing.assert_array_equal(pts.iloc[1, 1:].to_numpy(), pts.iloc[0, 1:].to_numpy())
    assert pts.iloc[1, 0] != pts.iloc[0, 0]


def test_shipped_experiments_load_and_fit_their_budget():
    esc = load_experiment(REPO / "experiments" / "escalation.toml")
    assert esc.kind == "grid" and esc.names == ["threat_scale", "hostility_scale", "us_demand", "alliance_credibility",
                                                "counterattack"]
    assert 1000 <= esc.n_runs <= 3000 and esc.replicates > 1
    assert esc.base["threat_noise"] > 0 and esc.base["prk_draws"]  # North Korea's start is an uncertain input
    from model.sim.params import estimates

    # the yearly burden shocks are the size of the estimate's residuals (relative to the burden)
    resid = estimates()["fit"]["resid_sd_relative"]
    assert esc.base["budget_noise"] == pytest.approx(resid, abs=0.0005)
    sens = load_experiment(REPO / "experiments" / "sensitivity.toml")
    assert sens.kind == "sobol" and 6 <= len(sens.varied) <= 8
    assert sens.n_points == sens.n * (2 * len(sens.varied) + 2) <= 5000


def test_uncertainty_experiments_separate_draws_from_shocks():
    draws = load_experiment(REPO / "experiments" / "uncertainty_coefficients.toml")
    shocks = load_experiment(REPO / "experiments" / "uncertainty_shocks.toml")
    assert draws.base["coefficient_draws"] and draws.base["budget_noise"] == draws.base["threat_noise"] == 0
    assert not shocks.base["coefficient_draws"] and shocks.base["budget_noise"] > 0
    assert draws.root_seed == shocks.root_seed and draws.n_runs == shocks.n_runs  # paired runs


def test_base_scenario_by_relative_path_and_fixed(tmp_path):
    (tmp_path / "mine.toml").write_text('[scenario]\ndescription = "x"\n[parameters]\nus_demand = 0.04\n')
    exp = load_experiment(write(tmp_path, '[experiment]\nbase = "mine.toml"\n[fixed]\nthreat_noise = 0.1\n'
                                          '[parameters]\nalliance_credibility = [0.5, 0.9]\n'))
    assert exp.base["us_demand"] == 0.04 and exp.base["threat_noise"] == 0.1
    assert exp.content["fixed"] == {"threat_noise": 0.1}


def test_keep_section(tmp_path):
    exp = load_experiment(write(tmp_path, GRID + '[keep]\nvariables = ["threat", "burden"]\n'))
    assert exp.variables == ("burden", "threat") and exp.keep_paths


BAD = [
    ("unknown parameter", "[parameters]\nus_demandd = [0.02]\n", ["exp.toml", "parameters.us_demandd"]),
    ("empty list", "[parameters]\nus_demand = []\n", ["exp.toml", "parameters.us_demand", "[]"]),
    ("empty range", "[parameters]\nus_demand = { low = 0.03, high = 0.03, steps = 2 }\n",
     ["exp.toml", "parameters.us_demand", "empty", "0.03"]),
    ("lower > upper", "[parameters]\nus_demand = { low = 0.05, high = 0.02, steps = 3 }\n",
     ["exp.toml", "parameters.us_demand", "low > high", "0.05", "0.02"]),
    ("unknown design", '[parameters]\nus_demand = [0.02]\n[design]\nkind = "factorial"\n',
     ["exp.toml", "design.kind", "'factorial'", "'grid'"]),
    ("zero replicates", "[parameters]\nus_demand = [0.02]\n[replicates]\ncount = 0\n",
     ["exp.toml", "replicates.count", "Got 0"]),
    ("malformed TOML", "[parameters\nus_demand = [0.02]\n", ["exp.toml", "not valid TOML"]),
    ("structural", '[parameters]\nthreat_model = ["ratio", "linear"]\n', ["exp.toml", "'threat_model'", "cannot vary"]),
    ("structural until", "[parameters]\nuntil = [2030, 2040]\n", ["exp.toml", "'until'", "cannot vary"]),
    ("unknown section", "[parameter]\nus_demand = [0.02]\n", ["exp.toml", "unknown section", "'parameter'"]),
    ("unknown key", "[parameters]\nus_demand = [0.02]\n[design]\nkind = \"grid\"\nsample = 3\n",
     ["exp.toml", "design.sample"]),
    ("unknown range key", "[parameters]\nus_demand = { low = 0.02, high = 0.05, step = 3 }\n",
     ["exp.toml", "parameters.us_demand.step"]),
    ("out of bounds", "[parameters]\nus_demand = [0.02, 0.7]\n", ["exp.toml", "'us_demand'", "[0, 0.2]", "0.7"]),
    ("unknown distribution", '[parameters]\nus_demand = { low = 0.02, high = 0.05, distribution = "beta" }\n'
                             '[design]\nkind = "lhs"\nsamples = 4\n', ["exp.toml", "distribution", "'beta'"]),
    ("sobol n", "[parameters]\nus_demand = { low = 0.02, high = 0.05 }\n[design]\nkind = \"sobol\"\nn = 10\n",
     ["exp.toml", "design.n", "power of 2", "10"]),
    ("list in lhs", "[parameters]\nus_demand = [0.02, 0.03]\n[design]\nkind = \"lhs\"\nsamples = 4\n",
     ["exp.toml", "parameters.us_demand", "'grid'"]),
    ("grid range without steps", "[parameters]\nus_demand = { low = 0.02, high = 0.05 }\n",
     ["exp.toml", "parameters.us_demand.steps", "required"]),
    ("scalar", "[parameters]\nus_demand = 0.03\n", ["exp.toml", "parameters.us_demand", "[fixed]"]),
    ("no parameters", '[experiment]\ndescription = "x"\n', ["exp.toml", "[parameters]"]),
    ("unknown fixed", "[fixed]\nnoise = 1\n[parameters]\nus_demand = [0.02]\n", ["exp.toml", "fixed.noise"]),
    ("unknown base", '[experiment]\nbase = "nope"\n[parameters]\nus_demand = [0.02]\n',
     ["exp.toml", "experiment.base", "'nope'"]),
    ("seeds count", "[parameters]\nus_demand = [0.02]\n[replicates]\ncount = 3\nseeds = [1, 2]\n",
     ["exp.toml", "replicates.seeds", "3"]),
    ("inconsistent point", "[parameters]\nburden_floor_jpn = [0.001, 0.07]\n",
     ["exp.toml", "burden_floor_jpn", "0.07"]),
    ("absent country", '[experiment]\nbase = "richardson"\n[parameters]\nthreat_sensitivity_kor = [0.1]\n',
     ["exp.toml", "threat_sensitivity_kor", "KOR"]),
    ("keep variables", "[parameters]\nus_demand = [0.02]\n[keep]\nvariables = [\"gdpp\"]\n",
     ["exp.toml", "keep.variables", "gdpp"]),
    ("integer grid repeats", "[parameters]\nus_demand_year = { low = 2026, high = 2028, steps = 5 }\n",
     ["exp.toml", "parameters.us_demand_year", "repeats a value", "2026, 2026, 2027, 2028, 2028"]),
    ("integer loguniform grid repeats",
     '[parameters]\nfloor_year_jpn = { low = 2025, high = 2027, steps = 4, distribution = "loguniform" }\n',
     ["exp.toml", "parameters.floor_year_jpn", "repeats a value"]),
    ("seed with grid", "[parameters]\nus_demand = [0.02]\n[design]\nseed = 3\n",
     ["exp.toml", "design.seed", "'grid'", "Got 3"]),
    ("seed with default grid", '[parameters]\nus_demand = [0.02]\n[design]\nkind = "grid"\nseed = 0\n',
     ["exp.toml", "design.seed", "'grid'"]),
]


@pytest.mark.parametrize("case,text,fragments", BAD, ids=[b[0] for b in BAD])
def test_bad_experiment_files_are_rejected_with_one_line(tmp_path, case, text, fragments):
    with pytest.raises(ParameterError) as info:
        load_experiment(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (case, message)


def test_missing_file(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        load_experiment(tmp_path / "none.toml")


def test_design_point_outside_start_state_is_located(tmp_path):
    # start burden of Japan (SIPRI 2024, ~1.4%) must lie within [floor, cap]: the third point breaks it
    text = "[parameters]\nburden_floor_jpn = [0.001, 0.005, 0.03]\n"
    with pytest.raises(ParameterError) as info:
        load_experiment(write(tmp_path, text))
    assert "design point 2" in str(info.value) and "0.03" in str(info.value)


def test_integer_grid_range_without_repeats_is_accepted(tmp_path):
    exp = load_experiment(write(tmp_path, "[parameters]\nus_demand_year = { low = 2026, high = 2030, steps = 5 }\n"))
    assert exp.points.us_demand_year.tolist() == [2026, 2027, 2028, 2029, 2030]


# Every cross-field rule of Params, varied within a design: rejected by the batch check of
# build_inputs, with one line naming the design point and no batch run number.
CROSS_FIELD = [
    ("demand ramp order", "[parameters]\nus_demand_year = [2030, 2024]\n", 1, "'us_demand_year'"),
    ("floor above cap", "[parameters]\nburden_floor_jpn = [0.001, 0.07]\n", 1, "'burden_floor_jpn'"),
    ("varied cap below fixed floor", "[fixed]\nburden_floor_kor = 0.02\n[parameters]\n"
                                     "burden_cap_kor = [0.1, 0.05, 0.015]\n", 2, "'burden_floor_kor'"),
    ("floor target above cap", "[parameters]\nfloor_target_kor = [0.0, 0.2]\nburden_cap_kor = [0.05, 0.1]\n",
     2, "'floor_target_kor'"),
    ("lhs demand ramp", '[parameters]\nus_demand_start = { low = 2025, high = 2040 }\n'
                        'us_demand_year = { low = 2026, high = 2030 }\n[design]\nkind = "lhs"\nsamples = 40\n',
     None, "'us_demand_year'"),
]


@pytest.mark.parametrize("case,text,point,fragment", CROSS_FIELD, ids=[c[0] for c in CROSS_FIELD])
def test_cross_field_rules_are_checked_per_design_point(tmp_path, case, text, point, fragment):
    with pytest.raises(ParameterError) as info:
        load_experiment(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message and "exp.toml" in message and fragment in message, message
    assert (f"design point {point} (" if point is not None else "design point ") in message, message
    assert "(run " not in message, message


@pytest.mark.parametrize("kind", ["sobol", "lhs"])
def test_salib_does_not_write_into_the_recorded_problem(tmp_path, kind):
    design = 'kind = "sobol"\nn = 8' if kind == "sobol" else 'kind = "lhs"\nsamples = 8'
    exp = load_experiment(write(tmp_path, lhs_text(1).replace('kind = "lhs"\nsamples = 1', design)))
    assert exp.n_points > 0  # the design has been sampled
    keys = {"num_vars", "names", "bounds", "dists"}
    assert set(exp.problem) == keys
    if kind == "sobol":
        assert set(exp.design_record()["problem"]) == keys


# --- designs too large to hold -----------------------------------------------------------------------

HUGE = {
    "grid": "[parameters]\nus_demand = { low = 0.02, high = 0.05, steps = 100000 }\n"
            "threat_scale = { low = 0.5, high = 2.0, steps = 100000 }\n",
    "grid_steps": "[parameters]\nus_demand = { low = 0.02, high = 0.05, steps = 10000000000 }\n",
    "lhs": '[parameters]\nus_demand = { low = 0.02, high = 0.05 }\n[design]\nkind = "lhs"\nsamples = 1000000000\n',
    "sobol": '[parameters]\nus_demand = { low = 0.02, high = 0.05 }\nthreat_scale = { low = 0.5, high = 2.0 }\n'
             '[design]\nkind = "sobol"\nn = 1073741824\n',
}
HUGE_SIZE = {"grid": "10,000,000,000 points", "grid_steps": "10,000,000,000 steps", "lhs": "1,000,000,000 points",
             "sobol": "6,442,450,944 points"}


def _limit_memory() -> None:  # a regression that allocates the design fails here at once, not after swapping
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


@pytest.mark.parametrize("kind", sorted(HUGE))
def test_a_design_too_large_to_hold_is_refused_with_its_size_before_anything_is_allocated(tmp_path, kind):
    import subprocess
    import sys

    path = write(tmp_path, HUGE[kind], name="huge.toml")
    res = subprocess.run([sys.executable, "-m", "model.cli", "sweep", str(path), "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=120, preexec_fn=_limit_memory)
    assert res.returncode == 2, res.stderr[-2000:]
    err = res.stderr.strip()
    assert "\n" not in err and err.startswith("armsrace sweep: error: experiment huge.toml: ")
    assert HUGE_SIZE[kind] in err and "maximum of 10,000,000 runs" in err and "design.max_runs" in err
    assert not (tmp_path / "out").exists()


def test_the_maximum_design_size_is_the_files_to_raise(tmp_path):
    grid = "[parameters]\nus_demand = [0.02, 0.035, 0.05]\nthreat_scale = [1.0, 2.0]\n[replicates]\ncount = 3\n"
    with pytest.raises(ParameterError, match=r"6 points x 3 replicate\(s\) = 18 runs .* maximum of 17 runs"):
        load_experiment(write(tmp_path, grid + "[design]\nmax_runs = 17\n"))
    exp = load_experiment(write(tmp_path, grid + "[design]\nmax_runs = 18\n"))
    assert exp.n_runs == 18 and exp.content["design"]["max_runs"] == 18
    sobol = load_experiment(write(tmp_path, HUGE["sobol"].replace("1073741824", "4") + "max_runs = 24\n"))
    assert sobol.n_runs == 24
    with pytest.raises(ParameterError, match="= 48 runs"):
        sobol.with_sample_size(8)
