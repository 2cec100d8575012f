"""Every parameter is validated in one place with one message form."""

from __future__ import annotations

import pytest

from model.errors import ParameterError
from model.sim.model import ArmsRaceModel
from model.sim.params import COUNTRIES, COUNTRY_FIELDS, Params, specs


@pytest.mark.parametrize("name, value, message", [
    ("us_demand", 1.7, "The 'us_demand' parameter must be a number in [0, 0.2]. Got 1.7 instead."),
    ("us_demand", "high", "The 'us_demand' parameter must be a number in [0, 0.2]. Got 'high' instead."),
    ("us_demand", float("nan"), "The 'us_demand' parameter must be a number in [0, 0.2]. Got nan instead."),
    ("counterattack", 1, "The 'counterattack' parameter must be true or false. Got 1 instead."),
    ("until", 2040.5, "The 'until' parameter must be an integer in [1993, 2200]. Got 2040.5 instead."),
    ("threat_model", "cubic", "The 'threat_model' parameter must be one of 'log', 'linear'. Got 'cubic' instead."),
    ("countries", ["USA", "XYZ"], "The 'countries' parameter must be a list of distinct country codes"),
    ("adjustment_speed_jpn", -0.1, "The 'adjustment_speed_jpn' parameter must be a number in [0, 1]. Got -0.1"),
    ("hostility_jpn_chn", 2, "The 'hostility_jpn_chn' parameter must be a number in [0, 1]. Got 2 instead."),
])
def test_bad_values_name_the_parameter_and_the_value(name, value, message):
    with pytest.raises(ParameterError) as err:
        Params.from_kwargs(**{name: value})
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_parameter_is_named():
    with pytest.raises(ParameterError, match="Unknown parameter 'us_demnad'"):
        ArmsRaceModel(us_demnad=0.03)


@pytest.mark.parametrize("kw, fragment", [
    ({"start_year": 2024, "until": 2020}, "The 'until' parameter must be after start_year (2024). Got 2020"),
    ({"us_demand_start": 2030, "us_demand_year": 2027}, "'us_demand_year' parameter must not be before"),
    ({"burden_floor_jpn": 0.07}, "The 'burden_floor_jpn' parameter must not exceed burden_cap_jpn"),
    ({"floor_target_jpn": 0.5}, "The 'floor_target_jpn' parameter must not exceed burden_cap_jpn"),
])
def test_inconsistent_values_are_rejected(kw, fragment):
    with pytest.raises(ParameterError) as err:
        Params.from_kwargs(**kw)
    assert fragment in str(err.value)


def test_start_burden_outside_its_bounds_is_rejected():
    with pytest.raises(ParameterError, match="start burden of JPN"):
        ArmsRaceModel(burden_floor_jpn=0.02)


def test_every_country_field_and_hostility_pair_is_declared_with_bounds():
    table = specs()
    for iso in COUNTRIES:
        for field in COUNTRY_FIELDS:
            assert f"{field}_{iso.lower()}" in table
        for src in COUNTRIES:
            if src != iso:
                assert f"hostility_{iso.lower()}_{src.lower()}" in table
    for spec in table.values():
        if spec.kind in ("float", "int"):
            assert spec.low <= spec.high, spec.name
            if spec.default is not None:
                assert spec.low <= spec.default <= spec.high, spec.name


def test_the_defaults_file_only_names_declared_fields_and_countries():
    from model.sim.params import _defaults_file

    table = _defaults_file()
    assert set(table) == {"countries", "hostility"}
    for iso, fields in table["countries"].items():
        assert iso in COUNTRIES and set(fields) <= set(COUNTRY_FIELDS)
    for obs, sources in table["hostility"].items():
        assert {obs, *sources} <= set(COUNTRIES)


def test_batch_values_are_checked_like_single_ones():
    import numpy as np

    from model.sim.inputs import build_inputs

    base = Params.from_kwargs()
    x = build_inputs(base, {"counterattack": np.array([True, False])})  # booleans can vary
    assert x.counterattack[:, 0].tolist() == [1.0, 0.0]
    with pytest.raises(ParameterError, match="'counterattack' parameter must be true or false. Got 2.0"):
        build_inputs(base, {"counterattack": np.array([1, 2])})
    with pytest.raises(ParameterError, match=r"'floor_target_jpn' parameter must not exceed .* \(run 1\)"):
        build_inputs(base, {"floor_target_jpn": np.array([0.02, 0.09])})
    with pytest.raises(ParameterError, match=r"'us_demand_year' parameter must not be before .* \(run 0\)"):
        build_inputs(base, {"us_demand_year": np.array([2024, 2030])})
    with pytest.raises(ParameterError) as err:
        build_inputs(base, {"until": np.arange(30) + 2030})
    assert "\n" not in str(err.value) and "cannot vary within a batch" in str(err.value)


def test_keyword_construction_reaches_the_model():
    m = ArmsRaceModel(us_demand=0.035, adjustment_speed_jpn=0.1, countries=["USA", "JPN", "CHN"], rng=1)
    assert m.params["us_demand"] == 0.035
    assert [a.iso for a in m.countries] == ["USA", "JPN", "CHN"]
    assert m.inputs.speed[1] == 0.1
    g = m.space.G
    assert list(g.nodes) == [0, 1, 2] and [g.nodes[n]["iso"] for n in g.nodes] == ["USA", "JPN", "CHN"]
    assert g.edges[1, 2]["hostility_JPN"] == m.params["hostility_jpn_chn"]  # China's threat to Japan
    assert g.edges[2, 1]["hostility_CHN"] == m.params["hostility_chn_jpn"]
    assert g.edges[1, 2]["hostility"] == max(m.params["hostility_jpn_chn"], m.params["hostility_chn_jpn"])
    assert g.edges[0, 1]["alliance"] == 1.0
