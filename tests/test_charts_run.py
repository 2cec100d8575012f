"""Figures of one run (model/charts/run.py): the heading never overlaps the wrapped subtitle under it."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from model.charts.run import RUN_FIGURES
from model.sim.model import ArmsRaceModel


@pytest.mark.parametrize("stem", list(RUN_FIGURES))
def test_heading_sits_above_a_wrapped_subtitle(stem):
    table = ArmsRaceModel(scenario="nato_precedent_5", rng=0, until=2030).run().agent_table()
    title = ("Scenario 'nato_precedent_5' (seed 0): NATO precedent: allies pressed toward 5% of GDP by 2035 "
             "(3.5% core + 1.5% related), a subtitle long enough to wrap onto a second line")
    fig = RUN_FIGURES[stem](table, title, linear=False)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    heading = ax.title.get_window_extent(renderer)
    subtitle = next(t for t in ax.texts if t.get_text().startswith("Scenario")).get_window_extent(renderer)
    assert subtitle.height > 20  # two lines or more
    assert heading.y0 >= subtitle.y1 - 1  # above it, not across it
    plt.close(fig)


def test_threat_unit_follows_the_threat_model_not_the_values():
    """A diverging Richardson run has linear threats above 1 (weighted burdens of 100% of GDP and
    more): still shares of GDP in %, not US$ bn on a log scale."""
    from model.charts.run import plot_threat

    linear = ArmsRaceModel(scenario="richardson", rng=0, threat_sensitivity_jpn=4.0, threat_sensitivity_chn=4.0,
                           hostility_scale=3.0)
    table = linear.run().agent_table()
    assert linear.inputs.linear and table["threat"].max() > 1
    ax = plot_threat(table, linear=True).axes[0]
    assert ax.get_ylabel() == "Weighted rival burdens, % of GDP" and ax.get_yscale() == "linear"
    assert max(line.get_ydata().max() for line in ax.get_lines()) == pytest.approx(100 * table["threat"].max())
    log = ArmsRaceModel(rng=0, until=2030)
    ax = plot_threat(log.run().agent_table(), linear=log.inputs.linear).axes[0]
    assert "US$ bn" in ax.get_ylabel() and ax.get_yscale() == "log"
    calm = ArmsRaceModel(rng=0, until=2030, hostility_scale=0.0).run().agent_table()
    assert (calm["threat"] == 0).any()
    ax = plot_threat(calm, linear=False).axes[0]
    assert ax.get_yscale() == "linear" and "log" not in ax.get_ylabel()  # zero threats stay drawn
    plt.close("all")
