"""Charts of sweep results (model/sweep_plots.py) on synthetic result folders and on a real small sweep."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from fixtures_results import (
    ISHIGAMI_S1,
    ISHIGAMI_ST,
    SOBOL_PROBLEM,
    assert_valid_image,
    grid_points,
    interrupt,
    write_grid,
    write_lhs,
    write_result,
    write_sobol,
)

from model.batch.sweep import run_sweep
from model.charts.run import COLORS
from model.charts.sweep import (
    fan_chart,
    load_results,
    outcome_distributions,
    phase_diagram,
    response_curve,
    saltelli_block,
    sobol_indices,
    sobol_table,
    write_plots,
)
from model.cli import main
from model.errors import ParameterError


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("results")
    return {
        "grid": write_grid(root / "grid"),
        "grid2d": write_grid(root / "grid2d", three=False),
        "lhs": write_lhs(root / "lhs"),
        "sobol": write_sobol(root / "sobol"),
        "one": write_result(root / "one", "grid", grid_points({"us_demand": [0.02, 0.03, 0.04, 0.05]}), 4,
                            agents=False),
    }


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(fig) -> str:
    parts = [fig._suptitle.get_text() if fig._suptitle else ""]
    for ax in fig.axes:
        parts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    return "\n".join(parts)


def _assert_labelled(fig, legend: bool = True) -> None:
    """A title, every visible axes titled or labelled on both axes of its row/column, a legend."""
    assert fig._suptitle is not None and fig._suptitle.get_text().strip()
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    assert axes
    assert any(ax.get_xlabel() for ax in axes) and any(ax.get_ylabel() for ax in axes)
    for ax in axes:
        assert ax.get_title() or ax.get_title(loc="left") or ax.get_xlabel(), ax
    if legend:
        assert fig.legends or any(ax.get_legend() for ax in fig.axes)


# ---------------------------------------------------------------------------------------------- phase diagrams

def test_phase_diagram_escalation_facets_over_the_third_grid_parameter(folders):
    fig = phase_diagram(load_results(folders["grid"]))
    _assert_labelled(fig)
    panels = [ax for ax in fig.axes if ax.collections]
    assert [ax.get_title() for ax in panels] == ["threat_scale = 0.5", "threat_scale = 1", "threat_scale = 2.5"]
    assert panels[0].get_xlabel() == "us_demand (% of GDP)"
    assert [t.get_text() for t in panels[0].get_xticklabels()] == ["2", "3", "3.5", "5"]
    assert {t.get_text() for t in fig.legends[0].get_texts()} >= {"stable", "buildup", "spiral"}


def test_phase_diagram_share_per_cell_matches_the_runs(folders):
    res = load_results(folders["grid2d"])
    fig = phase_diagram(res, x="us_demand", y="alliance_credibility", outcome="escalating_share")
    _assert_labelled(fig, legend=False)
    mesh = fig.axes[0].collections[0]
    shown = np.ma.filled(mesh.get_array(), np.nan).reshape(4, 4)  # (y, x)
    expected = (res.runs.assign(esc=res.runs["escalation"] != "stable")
                .groupby(["alliance_credibility", "us_demand"])["esc"].mean().unstack().to_numpy() * 100)
    np.testing.assert_allclose(shown, expected)
    assert any("% of runs" in ax.get_ylabel() for ax in fig.axes)  # the colour bar says what and in which unit


def test_phase_diagram_growth_on_lhs_pools_the_other_parameters_and_says_so(folders):
    res = load_results(folders["lhs"])
    fig = phase_diagram(res, outcome="regional_spending_growth")
    _assert_labelled(fig, legend=False)
    assert "Pooled over threat_scale, hostility_scale" in fig._suptitle.get_text()
    mesh = fig.axes[0].collections[0]
    values = np.ma.filled(mesh.get_array(), np.nan)
    lo, hi = res.runs["regional_spending_growth"].min() * 100, res.runs["regional_spending_growth"].max() * 100
    assert np.nanmin(values) >= lo - 1e-9 and np.nanmax(values) <= hi + 1e-9
    assert "median per cell" in _texts(fig)


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
    _assert_labelled(fig)
    bars = [p for p in fig.axes[0].patches]
    assert len(bars) == 4 * 3  # four values x three stacked classes
    fig = response_curve(res, outcome="regional_spending_growth")
    _assert_labelled(fig)
    med = fig.axes[0].get_lines()[0].get_ydata()
    expected = res.runs.groupby("us_demand")["regional_spending_growth"].median().to_numpy() * 100
    np.testing.assert_allclose(med, expected)


# ---------------------------------------------------------------------------------------------- fan chart

def test_fan_chart_medians_bands_and_reference_lines(folders):
    res = load_results(folders["grid"])
    fig = fan_chart(res)
    _assert_labelled(fig)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels][:2] == ["United States (USA)", "Japan (JPN)"]
    assert len(panels) == 6 and "North Korea" in fig._suptitle.get_text()  # PRK left out, stated
    jpn = panels[1]
    median = [ln for ln in jpn.get_lines() if len(ln.get_xdata()) > 2][0]
    assert median.get_color() == COLORS["JPN"]
    agents = res.read_agents()
    a = agents[agents["country"] == "JPN"]
    np.testing.assert_allclose(median.get_ydata(), a.groupby("year")["burden"].median().to_numpy() * 100)
    levels = sorted(ln.get_ydata()[0] for ln in jpn.get_lines() if len(ln.get_xdata()) == 2)
    np.testing.assert_allclose(levels, [2.0, 3.5, 5.0])
    assert "% of GDP" in _texts(fig)


def test_fan_chart_subset_sampling_and_missing_agents(folders):
    res = load_results(folders["grid"])
    fig = fan_chart(res, countries=["jpn", "PRK"], max_runs=50)
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["Japan (JPN)", "North Korea (PRK)"]
    assert "sample of 50 runs" in fig._suptitle.get_text()
    with pytest.raises(ParameterError, match="no agent tables"):
        fan_chart(load_results(folders["sobol"]))
    with pytest.raises(ParameterError, match="Unknown country"):
        fan_chart(res, countries=["XXX"])


# ---------------------------------------------------------------------------------------------- distributions

def test_outcome_distributions_panels_and_class_shares(folders):
    res = load_results(folders["lhs"])
    fig = outcome_distributions(res)
    _assert_labelled(fig)
    assert len(fig.axes) == 4
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles[0].startswith("(a) Escalation") and titles[3].startswith("(d) Allies")
    heights = [p.get_height() for p in fig.axes[0].patches]
    shares = res.runs["escalation"].value_counts(normalize=True).reindex(["stable", "buildup", "spiral"]) * 100
    np.testing.assert_allclose(heights, shares.fillna(0).to_numpy())
    assert fig.axes[3].get_ylabel() == "Final military burden (% of GDP)"


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
    _assert_labelled(fig)
    assert "Sobol" in fig._suptitle.get_text()
    assert [ax.get_title() for ax in fig.axes[:2]] == ["Regional military spending growth over the run",
                                                       "Runs ending in a spiral"]


def test_sobol_rejects_other_designs_and_unusable_outcomes(folders):
    with pytest.raises(ParameterError, match="'grid' design"):
        sobol_indices(load_results(folders["grid"]))
    with pytest.raises(ParameterError, match="missing values"):
        sobol_table(load_results(folders["sobol"]), ["cross_5pct_phl"])


# ---------------------------------------------------------------------------------------------- writing

def test_write_plots_grid_png_and_svg(folders):
    paths = write_plots(folders["grid"])
    out = folders["grid"] / "plots"
    names = {p.name for p in paths}
    for stem in ("phase_escalation", "phase_spiral_share", "phase_regional_spending_growth", "fan_chart",
                 "outcome_distributions"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    assert "sobol_indices.csv" not in names
    for p in paths:
        assert p.parent == out and p.exists()
        if p.suffix in (".png", ".svg"):
            assert_valid_image(p)
    index = json.loads((out / "plots.json").read_text())
    assert [e["stem"] for e in index["plots"]][0] == "phase_escalation"
    assert not [p for p in folders["grid"].iterdir() if p.name.startswith(".")]  # no staging left


def test_write_plots_sobol_writes_indices_table(folders, tmp_path):
    out = tmp_path / "charts"
    paths = write_plots(folders["sobol"], out=out, formats="png")
    names = {p.name for p in paths}
    assert {"sobol_indices.png", "sobol_indices.csv", "outcome_distributions.png"} <= names
    assert "fan_chart.png" not in names  # no agent tables
    table = pd.read_csv(out / "sobol_indices.csv")
    assert list(table.columns) == ["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    row = table[(table["outcome"] == "regional_spending_growth") & (table["parameter"] == "alliance_credibility")]
    assert abs(row["S1"].iloc[0] - ISHIGAMI_S1[1]) < 0.1
    assert_valid_image(out / "sobol_indices.png")


def test_write_plots_is_atomic_and_checks_formats(folders, tmp_path, monkeypatch):
    import model.charts.sweep as sp

    with pytest.raises(ParameterError, match="'--format'"):
        write_plots(folders["one"], out=tmp_path / "x", formats="png,gif")

    def boom(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(sp, "outcome_distributions", boom)
    with pytest.raises(RuntimeError):
        write_plots(folders["one"], out=tmp_path / "atomic", formats="png")
    assert not (tmp_path / "atomic").exists()
    assert not list(tmp_path.glob(".atomic*"))


# ---------------------------------------------------------------------------------------------- command line

def test_cli_plot(folders, tmp_path, capsys):
    out = tmp_path / "cli-plots"
    assert main(["plot", str(folders["one"]), "--out", str(out), "--format", "png"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert_valid_image(out / "response_escalation.png")
    assert not list(out.glob("*.svg"))


@pytest.mark.parametrize("case", ["missing", "no_manifest", "no_runs", "format"])
def test_cli_plot_bad_input_exits_2_with_one_line(folders, tmp_path, capsys, case):
    folder = {"missing": tmp_path / "nowhere", "no_manifest": tmp_path, "no_runs": tmp_path / "empty",
              "format": folders["one"]}[case]
    if case == "no_runs":
        folder.mkdir()
        (folder / "manifest.json").write_text(json.dumps({"design": {"kind": "grid", "varied": []}}))
    args = ["plot", str(folder), "--out", str(tmp_path / "o")] + (["--format", "bmp"] if case == "format" else [])
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("armsrace plot: error:") and "\n" not in err
    assert (str(folder) in err) if case != "format" else "'--format'" in err
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------------------------- real sweep

TINY = """\
[experiment]
description = "tiny test sweep"
base = "baseline"
until = 2030

[fixed]
threat_noise = 0.05
budget_noise = 0.02

[parameters]
us_demand = [0.02, 0.035, 0.05]
alliance_credibility = [0.4, 0.8]

[design]
kind = "grid"

[replicates]
count = 2
root_seed = 3

[keep]
paths = true
"""


def test_end_to_end_on_a_real_small_sweep(tmp_path):
    exp = tmp_path / "tiny.toml"
    exp.write_text(textwrap.dedent(TINY))
    folder = run_sweep(exp, out=tmp_path / "tiny", progress=False)
    res = load_results(folder)
    assert res.kind == "grid" and len(res.runs) == 12 and res.has_agents
    assert main(["plot", str(folder), "--format", "png"]) == 0
    for stem in ("phase_escalation", "phase_regional_spending_growth", "fan_chart", "outcome_distributions"):
        assert_valid_image(folder / "plots" / f"{stem}.png")
    fig = fan_chart(res, countries=["JPN"])
    agents = res.read_agents()
    jpn = agents[agents["country"] == "JPN"].groupby("year")["burden"].median().to_numpy() * 100
    median = [ln for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) > 2][0]
    np.testing.assert_allclose(median.get_ydata(), jpn)


def test_unfinished_sweep_is_drawn_and_says_so_on_every_chart(folders, tmp_path):
    # interrupted sweeps: the chunks not marked done are left out (deleted, or left as stray files)
    grid = load_results(interrupt(write_grid(tmp_path / "grid", chunk_size=50), ["00002"], delete=["00002"]))
    one = load_results(interrupt(write_result(tmp_path / "one", "grid", grid_points(
        {"us_demand": [0.02, 0.03, 0.04, 0.05]}), 4, agents=False, chunk_size=6), ["00001"]))
    sobol = load_results(interrupt(write_sobol(tmp_path / "sobol", n=64, replicates=1, chunk_size=100),
                                    ["00002"]))
    assert (len(grid.runs), len(one.runs), len(sobol.runs)) == (100, 10, 412)
    full = load_results(folders["grid"])
    drawn = {
        "phase_diagram": phase_diagram(grid),
        "phase_diagram growth": phase_diagram(grid, outcome="regional_spending_growth"),
        "response_curve": response_curve(one),
        "response_curve growth": response_curve(one, outcome="regional_spending_growth"),
        "fan_chart": fan_chart(grid),
        "outcome_distributions": outcome_distributions(grid),
        "sobol_indices": sobol_indices(sobol, ["regional_spending_growth"]),
    }
    for name, fig in drawn.items():
        assert "Unfinished sweep: " in fig._suptitle.get_text(), name
    assert "100 of 144 runs" in drawn["phase_diagram"]._suptitle.get_text()
    assert "10 of 16 runs" in drawn["response_curve"]._suptitle.get_text()
    # Sobol indices from the complete Saltelli blocks only (8 points each; runs 200-299 missing)
    text = drawn["sobol_indices"]._suptitle.get_text().replace("\n", " ")
    assert "412 of 512 runs" in text and "51 complete Saltelli blocks of 64" in text
    # charts of several results name the unfinished one(s) only
    for fig in (phase_diagram([full, grid]), fan_chart([full, grid]), outcome_distributions([full, grid])):
        note = fig._suptitle.get_text().replace("\n", " ")
        assert "Unfinished sweep: grid 100 of 144 runs." in note, note
    # a finished sweep has no note
    assert "Unfinished" not in phase_diagram(full)._suptitle.get_text()
    assert "Unfinished" not in fan_chart(full)._suptitle.get_text()
    # and write_plots draws them all, the Sobol indices included
    names = {p.name for p in write_plots(sobol.path, formats="png")}
    assert {"sobol_indices.png", "sobol_indices.csv", "phase_escalation.png"} <= names


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
    assert saltelli_block(res) == 6 and not res.has_agents
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
