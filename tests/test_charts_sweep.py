"""Every chart of a sweep folder (model/charts/sweep.py: write_plots, 'armsrace plot'), on synthetic
folders and real small sweeps, finished or not."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pandas as pd
import pytest
from fixtures_results import (
    ISHIGAMI_S1,
    SOBOL_PROBLEM,
    assert_valid_image,
    grid_points,
    interrupt,
    write_grid,
    write_result,
    write_sobol,
)
from helpers import full_disk

from model.batch.store import load_results
from model.batch.sweep import run_sweep
from model.charts.distributions import outcome_distributions
from model.charts.fan import fan_chart
from model.charts.phase import phase_diagram, response_curve
from model.charts.sobol import sobol_indices
from model.charts.sweep import write_plots
from model.cli import main
from model.errors import ParameterError

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
    names = SOBOL_PROBLEM["names"]  # a second-order design: S2 with every other parameter as well
    assert list(table.columns) == ["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf",
                                   *[f"S2_{p}" for p in names], *[f"S2_conf_{p}" for p in names]]
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
    with pytest.raises(RuntimeError, match="drawing failed"):
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


@pytest.mark.parametrize("sub", ["runs", "agents"])
def test_cli_plot_of_a_folder_with_a_garbage_chunk_names_the_file(tmp_path, capsys, sub):
    folder = write_grid(tmp_path / "grid", chunk_size=50)
    chunk = folder / sub / "chunk-00001.parquet"
    chunk.write_bytes(b"\x00garbage, not Parquet\n" * 10)
    out = tmp_path / "plots"
    assert main(["plot", str(folder), "--out", str(out), "--format", "png"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"armsrace plot: error: The results folder {str(folder)!r} has a damaged chunk file "
                          f"{str(chunk)!r} (")
    assert err.count("\n") == 1 and "restore it" in err
    assert not out.exists() and not list(tmp_path.glob(".plots*"))


def test_cli_plot_on_a_full_disk_is_one_line_and_leaves_nothing(folders, tmp_path, monkeypatch, capsys):
    opened = full_disk(monkeypatch, after=2)
    out = tmp_path / "plots"
    assert main(["plot", str(folders["one"]), "--out", str(out), "--format", "png"]) == 2
    err = capsys.readouterr().err
    assert err == (f"armsrace plot: error: The file {str(out / opened[2].name)!r} cannot be written: No space left "
                   f"on device; nothing was written to {str(out)!r}.\n")
    assert list(tmp_path.iterdir()) == []


def test_cli_plot_again_replaces_its_own_charts_only_with_force(folders, tmp_path, capsys):
    out = tmp_path / "p"
    args = ["plot", str(folders["one"]), "--out", str(out), "--format", "png"]
    assert main(args) == 0
    (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "add --force" in err and "plots.json" in err
    assert main([*args, "--force"]) == 0
    assert (out / "notes.txt").read_text() == "mine"


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
