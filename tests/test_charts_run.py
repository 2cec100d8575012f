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
    fig = RUN_FIGURES[stem](table, title)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    heading = ax.title.get_window_extent(renderer)
    subtitle = next(t for t in ax.texts if t.get_text().startswith("Scenario")).get_window_extent(renderer)
    assert subtitle.height > 20  # two lines or more
    assert heading.y0 >= subtitle.y1 - 1  # above it, not across it
    plt.close(fig)
