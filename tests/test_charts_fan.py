"""Fan charts (model/charts/fan.py) on synthetic result folders."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_results import (
    assert_labelled,
    figure_texts,
)

from model.batch.store import load_results
from model.charts.fan import fan_chart
from model.charts.style import COUNTRY_COLORS
from model.errors import ParameterError

# ---------------------------------------------------------------------------------------------- fan chart

def test_fan_chart_medians_bands_and_reference_lines(folders):
    res = load_results(folders["grid"])
    fig = fan_chart(res)
    assert_labelled(fig)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels][:2] == ["United States (USA)", "Japan (JPN)"]
    assert len(panels) == 6 and "North Korea" in fig._suptitle.get_text()  # PRK left out, stated
    jpn = panels[1]
    median = [ln for ln in jpn.get_lines() if len(ln.get_xdata()) > 2][0]
    assert median.get_color() == COUNTRY_COLORS["JPN"]
    agents = res.read_agents()
    a = agents[agents["country"] == "JPN"]
    np.testing.assert_allclose(median.get_ydata(), a.groupby("year")["burden"].median().to_numpy() * 100)
    levels = sorted(ln.get_ydata()[0] for ln in jpn.get_lines() if len(ln.get_xdata()) == 2)
    np.testing.assert_allclose(levels, [2.0, 3.5, 5.0])
    assert "% of GDP" in figure_texts(fig)


def test_fan_chart_subset_sampling_and_missing_agents(folders):
    res = load_results(folders["grid"])
    fig = fan_chart(res, countries=["jpn", "PRK"], max_runs=50)
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["Japan (JPN)", "North Korea (PRK)"]
    assert "sample of 50 runs" in fig._suptitle.get_text()
    with pytest.raises(ParameterError, match="no agent tables"):
        fan_chart(load_results(folders["sobol"]))
    with pytest.raises(ParameterError, match="Unknown country"):
        fan_chart(res, countries=["XXX"])
