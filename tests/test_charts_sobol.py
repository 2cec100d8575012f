"""Sobol indices of sweep folders and their chart (model/charts/sobol.py, model/analysis/sensitivity.py's
sobol_table) on a synthetic Ishigami folder and a real small Sobol sweep."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fixtures_results import (
    ISHIGAMI_S1,
    ISHIGAMI_ST,
    SOBOL_PROBLEM,
    assert_labelled,
    assert_valid_image,
    write_sobol,
)

from model.analysis.sensitivity import results_design, sobol_table
from model.batch.store import load_results
from model.batch.sweep import run_sweep
from model.charts.sobol import sobol_indices
from model.charts.sweep import write_plots
from model.errors import ParameterError

# ---------------------------------------------------------------------------------------------- Sobol

def test_sobol_indices_recover_ishigami(folders):
    res = load_results(folders["sobol"])
    table = sobol_table(res, ["regional_spending_growth"]).set_index("parameter")
    assert table.index.tolist() == SOBOL_PROBLEM["names"]
    np.testing.assert_allclose(table["S1"], ISHIGAMI_S1, atol=0.1)
    np.testing.assert_allclose(table["ST"], ISHIGAMI_ST, atol=0.1)
    assert (table["S1_conf"] > 0).all() and (table["ST_conf"] < 0.2).all()
    # the bootstrap intervals are reproducible (SALib seeds only a non-zero seed; seed 0 is the default)
    again = sobol_table(res, ["regional_spending_growth"]).set_index("parameter")
    pd.testing.assert_frame_equal(table, again, check_exact=True)
    other = sobol_table(res, ["regional_spending_growth"], seed=5).set_index("parameter")
    assert not np.array_equal(other["S1_conf"].to_numpy(), table["S1_conf"].to_numpy())
    np.testing.assert_array_equal(other["S1"].to_numpy(), table["S1"].to_numpy())  # only the bootstrap moves
    fig = sobol_indices(res, ["regional_spending_growth", "spiral_share"])
    assert_labelled(fig)
    assert "Sobol" in fig._suptitle.get_text()
    assert [ax.get_title() for ax in fig.axes[:2]] == ["Regional military spending growth over the run",
                                                       "Runs ending in a spiral"]


def test_sobol_rejects_other_designs_and_unusable_outcomes(folders):
    with pytest.raises(ParameterError, match="'grid' design"):
        sobol_indices(load_results(folders["grid"]))
    with pytest.raises(ParameterError, match="missing values"):
        sobol_table(load_results(folders["sobol"]), ["cross_5pct_phl"])


# ---------------------------------------------------------------------------------------------- real Sobol sweep

TINY_SOBOL = """\
[experiment]
description = "tiny Sobol sweep"
base = "baseline"
until = 2030

[fixed]
threat_noise = 0.05

[parameters]
us_demand = { low = 0.02, high = 0.05 }
threat_scale = { low = 0.5, high = 2.0, distribution = "loguniform" }

[design]
kind = "sobol"
n = 8
second_order = true
seed = 2

[replicates]
count = 2
root_seed = 4

[keep]
paths = false
"""


def test_end_to_end_sobol_sweep_then_write_plots(tmp_path):
    exp = tmp_path / "tiny_sobol.toml"
    exp.write_text(TINY_SOBOL)
    folder = run_sweep(exp, out=tmp_path / "tiny_sobol", progress=False, chunk_size=40)
    res = load_results(folder)
    assert res.kind == "sobol" and res.n_points == 8 * (2 * 2 + 2) and len(res.runs) == 96
    assert set(res.design["problem"]) == {"num_vars", "names", "bounds", "dists"}  # as the experiment wrote it
    assert results_design(res).block == 6 and not res.has_agents
    paths = write_plots(folder, formats="png")
    names = {p.name for p in paths}
    assert {"sobol_indices.png", "sobol_indices.csv", "outcome_distributions.png", "phase_escalation.png"} <= names
    assert "fan_chart.png" not in names
    table = pd.read_csv(folder / "plots" / "sobol_indices.csv")
    assert set(table["parameter"]) == {"us_demand", "threat_scale"} and len(table) % 2 == 0
    assert table[["S1", "ST"]].notna().all().all()
    expected = sobol_table(res)
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    assert_valid_image(folder / "plots" / "sobol_indices.png")
    # the synthetic fixtures write a manifest of the same shape
    real = json.loads((folder / "manifest.json").read_text())
    fake = json.loads((write_sobol(tmp_path / "fixture", n=8) / "manifest.json").read_text())
    assert set(fake) == set(real)
    for key in ("design", "experiment", "seeds", "code"):
        assert set(fake[key]) == set(real[key]), key
    assert set(fake["design"]["problem"]) == set(real["design"]["problem"])
    assert set(fake["experiment"]["design"]) == set(real["experiment"]["design"])
    assert set(fake["chunks"]["00000"]) == set(real["chunks"]["00000"])
