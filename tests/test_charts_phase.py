"""Phase diagrams and response curves (model/charts/phase.py) on synthetic result folders."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_results import (
    assert_labelled,
    figure_texts,
)

from model.batch.store import load_results
from model.charts.phase import phase_diagram, response_curve
from model.errors import ParameterError

# ---------------------------------------------------------------------------------------------- phase diagrams

def test_phase_diagram_escalation_facets_over_the_third_grid_parameter(folders):
    fig = phase_diagram(load_results(folders["grid"]))
    assert_labelled(fig)
    panels = [ax for ax in fig.axes if ax.collections]
    assert [ax.get_title() for ax in panels] == ["threat_scale = 0.5", "threat_scale = 1", "threat_scale = 2.5"]
    assert panels[0].get_xlabel() == "us_demand (% of GDP)"
    assert [t.get_text() for t in panels[0].get_xticklabels()] == ["2", "3", "3.5", "5"]
    assert {t.get_text() for t in fig.legends[0].get_texts()} >= {"stable", "buildup", "spiral"}


def test_phase_diagram_share_per_cell_matches_the_runs(folders):
    res = load_results(folders["grid2d"])
    fig = phase_diagram(res, x="us_demand", y="alliance_credibility", outcome="escalating_share")
    assert_labelled(fig, legend=False)
    mesh = fig.axes[0].collections[0]
    shown = np.ma.filled(mesh.get_array(), np.nan).reshape(4, 4)  # (y, x)
    expected = (res.runs.assign(esc=res.runs["escalation"] != "stable")
                .groupby(["alliance_credibility", "us_demand"])["esc"].mean().unstack().to_numpy() * 100)
    np.testing.assert_allclose(shown, expected)
    assert any("% of runs" in ax.get_ylabel() for ax in fig.axes)  # the colour bar says what and in which unit


def test_phase_cells_are_written_as_counts_of_runs(folders):
    res = load_results(folders["grid2d"])
    runs = res.runs.assign(spiral=res.runs["escalation"] == "spiral")
    cells = runs.groupby(["us_demand", "alliance_credibility"])["spiral"].agg(["sum", "size"])
    for outcome in ("escalation", "spiral_share"):
        fig = phase_diagram(res, x="us_demand", y="alliance_credibility", outcome=outcome)
        texts = sorted(t.get_text() for t in fig.axes[0].texts)
        expected = sorted(f"{k}/{n}" for k, n in cells.to_numpy() if k or outcome == "spiral_share")
        assert texts == expected and all("%" not in t for t in texts)  # "3/8", never "38"
        assert "runs in the cell" in fig._suptitle.get_text().replace("\n", " ")


def test_phase_diagram_growth_on_lhs_pools_the_other_parameters_and_says_so(folders):
    res = load_results(folders["lhs"])
    fig = phase_diagram(res, outcome="regional_spending_growth")
    assert_labelled(fig, legend=False)
    assert "Pooled over threat_scale, hostility_scale" in fig._suptitle.get_text()
    mesh = fig.axes[0].collections[0]
    values = np.ma.filled(mesh.get_array(), np.nan)
    lo, hi = res.runs["regional_spending_growth"].min() * 100, res.runs["regional_spending_growth"].max() * 100
    assert np.nanmin(values) >= lo - 1e-9 and np.nanmax(values) <= hi + 1e-9
    assert "median per cell" in figure_texts(fig)


def test_phase_diagram_explicit_facet_and_bad_arguments(folders):
    res = load_results(folders["lhs"])
    fig = phase_diagram(res, x="threat_scale", y="us_demand", facet="hostility_scale")
    assert len([ax for ax in fig.axes if ax.collections and ax.get_label() != "<colorbar>"]) == 3
    with pytest.raises(ParameterError, match="not varied"):
        phase_diagram(res, x="depreciation", y="us_demand")
    with pytest.raises(ParameterError, match="no outcome 'nonsense'"):
        phase_diagram(res, outcome="nonsense")
    with pytest.raises(ParameterError, match="needs 2"):
        phase_diagram(load_results(folders["one"]))


def test_response_curve_for_one_parameter_sweeps(folders):
    res = load_results(folders["one"])
    fig = response_curve(res, outcome="escalation")
    assert_labelled(fig)
    bars = [p for p in fig.axes[0].patches]
    assert len(bars) == 4 * 3  # four values x three stacked classes
    fig = response_curve(res, outcome="regional_spending_growth")
    assert_labelled(fig)
    med = fig.axes[0].get_lines()[0].get_ydata()
    expected = res.runs.groupby("us_demand")["regional_spending_growth"].median().to_numpy() * 100
    np.testing.assert_allclose(med, expected)
