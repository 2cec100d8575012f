"""The one palette and the display helpers (model/charts/style.py), and that the browser view uses them."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pytest
from helpers import REPO

from model.charts import style
from model.errors import ParameterError
from model.sim.outcomes import ESCALATION
from model.sim.params import BLOC, COUNTRIES


def test_every_colour_is_from_the_okabe_ito_palette():
    palette = set(style.OKABE_ITO.values())
    assert len(palette) == 8
    for name in ("COUNTRY_COLORS", "ESCALATION_COLORS", "BLOC_COLORS", "SOBOL_COLORS"):
        assert set(getattr(style, name).values()) <= palette, name
    assert set(style.EXPERIMENT_COLORS) == palette and style.RIVALRY_COLOR in palette
    assert set(style.COUNTRY_COLORS) == set(COUNTRIES) and len(set(style.COUNTRY_COLORS.values())) == len(COUNTRIES)
    assert list(style.ESCALATION_COLORS) == list(ESCALATION) and len(set(style.ESCALATION_COLORS.values())) == 3
    assert set(style.BLOC_COLORS) == set(BLOC.values())


def test_no_colour_is_defined_outside_the_style_module():
    hex_colour = re.compile(r"#[0-9a-fA-F]{6}\b")
    found = [p.relative_to(REPO).as_posix() for p in sorted((REPO / "model").rglob("*.py"))
             if p.name != "style.py" and hex_colour.search(p.read_text())]
    assert found == []


def test_the_browser_view_uses_the_same_palette():
    from model.viz import app, charts

    assert app.ESCALATION_COLORS is style.ESCALATION_COLORS
    assert charts.COUNTRY_COLORS is style.COUNTRY_COLORS and charts.BLOC_COLORS is style.BLOC_COLORS
    assert charts.REFERENCE_LINES is style.REFERENCE_LINES


def test_quantities_show_shares_in_percent_with_units():
    q = style.outcome_quantity("final_burden_jpn")
    assert (q.label, q.unit, q.scale) == ("Japan: final burden", "% of GDP", 100)
    assert q.axis == "Japan: final burden (% of GDP)"
    assert style.outcome_quantity("cross_3_5pct_kor").label == "South Korea: first year at 3.5% of GDP"
    assert style.param_quantity("us_demand").scale == 100 and style.param_quantity("threat_scale").scale == 1


def test_formats_and_saving(tmp_path):
    assert style.check_formats("PNG, .svg,png") == ("png", "svg")
    with pytest.raises(ParameterError, match="'--format'"):
        style.check_formats("gif")
    fig, _ = plt.subplots()
    assert style.save_figure(fig, tmp_path, "x", ("png", "svg")) == ["x.png", "x.svg"]
    assert not plt.get_fignums()  # saved figures are closed
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"
