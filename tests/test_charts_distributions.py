"""Outcome distributions (model/charts/distributions.py) on synthetic result folders."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from fixtures_results import (
    assert_labelled,
    standard_folders,
)

from model.batch.store import load_results
from model.charts.distributions import outcome_distributions


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    return standard_folders(tmp_path_factory.mktemp("results"))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------------------------------------- distributions

def test_outcome_distributions_panels_and_class_shares(folders):
    res = load_results(folders["lhs"])
    fig = outcome_distributions(res)
    assert_labelled(fig)
    assert len(fig.axes) == 4
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles[0].startswith("(a) Escalation") and titles[3].startswith("(d) Allies")
    heights = [p.get_height() for p in fig.axes[0].patches]
    shares = res.runs["escalation"].value_counts(normalize=True).reindex(["stable", "buildup", "spiral"]) * 100
    np.testing.assert_allclose(heights, shares.fillna(0).to_numpy())
    assert fig.axes[3].get_ylabel() == "Final military burden (% of GDP)"
