"""Outcome distributions (model/charts/distributions.py) on synthetic result folders."""

from __future__ import annotations

import numpy as np
from fixtures_results import (
    assert_labelled,
)

from model.batch.store import load_results
from model.charts.distributions import outcome_distributions

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
