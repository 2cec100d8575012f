"""Comparing sweep results (model/analysis/compare.py: the numbers; model/charts/compare.py: the folder):
the difference table by hand, the files, the command line."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from fixtures_results import assert_valid_image, grid_points, write_grid, write_lhs, write_result, write_sobol
from scipy import stats

from model.analysis.compare import (
    cell_differences,
    difference_table,
    mean_interval,
    paired_path_quantiles,
    pairing,
    welch_interval,
)
from model.batch.store import load_results
from model.batch.sweep import run_sweep
from model.charts.compare import compare, default_out, differences, markdown_table, phase_difference
from model.cli import main
from model.errors import ParameterError

POINTS = {"us_demand": [0.02, 0.035, 0.05], "alliance_credibility": [0.4, 0.8]}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cmp")
    return {
        "low": write_result(root / "low", "grid", grid_points(POINTS), 3, seed=1),
        "high": write_result(root / "high", "grid", grid_points({**POINTS, "us_demand": [0.03, 0.045, 0.06]}), 4,
                             seed=2, base_scenario="us_demand_3_5"),
        "lhs": write_lhs(root / "lhs", n=60, agents=False),
        "grid3": write_grid(root / "grid3", replicates=2),
        "sobol": write_sobol(root / "sobol", n=64, replicates=1),
    }


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _by_hand(runs: pd.DataFrame, values: pd.Series) -> tuple[float, float, float, float]:
    """Mean, se, interval of the mean of replicate means (t, R-1 df)."""
    m = values.groupby(runs["replicate"]).mean()
    r = len(m)
    se = m.std(ddof=1) / math.sqrt(r)
    half = stats.t.ppf(0.975, r - 1) * se
    return m.mean(), se, m.mean() - half, m.mean() + half


def test_difference_table_matches_hand_computed_means_intervals_and_differences(folders):
    a, b = load_results(folders["low"]), load_results(folders["high"])
    table = differences([a, b]).set_index(["outcome", "experiment"])
    for outcome, values in [("regional_spending_growth", lambda r: r["regional_spending_growth"] * 100),
                            ("share_spiral", lambda r: (r["escalation"] == "spiral") * 100.0),
                            ("final_burden_jpn", lambda r: r["final_burden_jpn"] * 100),
                            ("security_dilemma_index", lambda r: r["security_dilemma_index"])]:
        ma, sa, la, ha = _by_hand(a.runs, values(a.runs))
        mb, sb, lb, hb = _by_hand(b.runs, values(b.runs))
        ra, rb = table.loc[(outcome, "low")], table.loc[(outcome, "high")]
        assert ra["mean"] == pytest.approx(ma) and rb["mean"] == pytest.approx(mb)
        assert ra["mean"] == pytest.approx(values(a.runs).mean())  # balanced: also the mean over runs
        assert (ra["ci_low"], ra["ci_high"]) == pytest.approx((la, ha))
        assert (rb["ci_low"], rb["ci_high"]) == pytest.approx((lb, hb))
        assert ra["ci_basis"] == "replicates" and ra["n_units"] == 3 and rb["n_units"] == 4
        assert ra["diff_vs_first"] == 0 and np.isnan(ra["diff_low"])
        d = mb - ma
        if sa == sb == 0:  # the same value in every replicate: a degenerate interval
            half = 0.0
        else:
            df = (sa**2 + sb**2) ** 2 / (sa**4 / 2 + sb**4 / 3)
            half = stats.t.ppf(0.975, df) * math.sqrt(sa**2 + sb**2)
        assert rb["diff_vs_first"] == pytest.approx(d)
        assert (rb["diff_low"], rb["diff_high"]) == pytest.approx((d - half, d + half))
    assert table.loc[("final_burden_jpn", "high"), "unit"] == "% of GDP"
    assert table.loc[("share_spiral", "high"), "base_scenario"] == "us_demand_3_5"


def test_one_replicate_uses_runs_and_crossings_split_into_share_and_year(folders):
    res = load_results(folders["lhs"])
    est = mean_interval(res.runs["regional_spending_growth"], res.runs["replicate"])
    v = res.runs["regional_spending_growth"]
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    assert est["ci_basis"] == "runs" and est["n_units"] == len(v)
    assert (est["ci_low"], est["ci_high"]) == pytest.approx((v.mean() - half, v.mean() + half))
    table = differences([res, load_results(folders["low"])]).set_index(["outcome", "experiment"])
    crossed = table.loc[("crossed_3_5pct_jpn", "lhs"), "mean"]
    assert crossed == pytest.approx(res.runs["cross_3_5pct_jpn"].notna().mean() * 100)
    year = table.loc[("cross_3_5pct_jpn", "lhs"), "mean"]
    assert year == pytest.approx(res.runs["cross_3_5pct_jpn"].mean())  # NaN (never) left out


def test_sobol_intervals_are_over_saltelli_blocks(folders):
    res = load_results(folders["sobol"])
    assert res.replicates == 1 and res.n_points == 64 * 8  # 3 parameters, second order: blocks of 2D+2 = 8
    table = differences([res, load_results(folders["lhs"])]).set_index(["outcome", "experiment"])
    for outcome, scale in (("regional_spending_growth", 100), ("final_burden_jpn", 100)):
        v = res.runs[outcome] * scale
        blocks = v.groupby(res.runs["design_point"] // 8).mean()
        assert len(blocks) == 64
        half = stats.t.ppf(0.975, 63) * blocks.std(ddof=1) / math.sqrt(64)
        row = table.loc[(outcome, "sobol")]
        assert row["ci_basis"] == "blocks" and row["n_units"] == 64 and row["n_runs"] == 512
        assert not row["ci_approximate"]
        assert row["mean"] == pytest.approx(blocks.mean())
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((blocks.mean() - half, blocks.mean() + half))
        # rows are not independent: the interval over runs would be another (wrong) one
        naive = stats.t.ppf(0.975, 511) * v.std(ddof=1) / math.sqrt(512)
        assert row["ci_high"] - row["ci_low"] != pytest.approx(2 * naive, rel=1e-3)
    # without second-order indices the blocks are D + 2 points
    first = load_results(write_sobol(folders["sobol"].parent / "sobol_first", n=32, replicates=1,
                                     calc_second_order=False))
    est = mean_interval(first.runs["regional_spending_growth"], first.runs["replicate"],
                        first.runs["design_point"] // 5, "sobol")
    assert est["ci_basis"] == "blocks" and est["n_units"] == 32


def test_lhs_intervals_are_flagged_approximate_and_mixed_bases_are_stated(folders):
    low, lhs, high = (load_results(folders[k]) for k in ("low", "lhs", "high"))
    table = differences([low, lhs])
    by = table.set_index(["outcome", "experiment"])
    assert (table[table["experiment"] == "lhs"]["ci_approximate"]).all()
    assert not table[table["experiment"] == "low"]["ci_approximate"].any()
    note = by.loc[("regional_spending_growth", "lhs"), "diff_note"]
    assert note == "interval bases differ: replicate means (low) vs runs (lhs)"
    assert by.loc[("regional_spending_growth", "low"), "diff_note"] == ""
    same = differences([low, high]).set_index(["outcome", "experiment"])
    assert same.loc[("regional_spending_growth", "high"), "diff_note"] == ""
    three = [low, lhs, load_results(folders["sobol"])]
    md = markdown_table(differences(three, ["low", "lhs", "sobol"]), three, ["low", "lhs", "sobol"])
    header = {line.split(" | ")[0].strip("| "): line for line in md.splitlines() if line.startswith("| ")}
    assert header["low"].endswith("| replicate means |")
    assert header["lhs"].endswith("| runs (approximate) |")
    assert header["sobol"].endswith("| Saltelli block means |")  # read from the table, not recomputed
    assert "approximate for LHS" in md and "**‡ Intervals over different units:**" in md
    growth = next(line for line in md.splitlines() if line.startswith("| Regional military spending growth"))
    assert growth.count(" ‡") == 2  # lhs − low and sobol − low


def test_unfinished_sweep_is_named_in_the_table_and_markdown(folders, tmp_path):
    part = write_result(tmp_path / "part", "grid", grid_points(POINTS), 3, seed=1, chunk_size=6)
    manifest = json.loads((part / "manifest.json").read_text())
    manifest["chunks"]["00001"]["done"] = False  # an interrupted sweep
    (part / "manifest.json").write_text(json.dumps(manifest))
    result = compare([folders["low"], part], tmp_path / "o", formats="png")
    t = result.table
    assert set(t[t["experiment"] == "part"]["unfinished"]) == {"Unfinished sweep: 12 of 18 runs."}
    assert set(t[t["experiment"] == "low"]["unfinished"]) == {""}
    md = (tmp_path / "o" / "differences.md").read_text()
    assert "**Unfinished sweep: part 12 of 18 runs.**" in md and "| 12 of 18 (unfinished) |" in md
    assert json.loads((tmp_path / "o" / "compare.json").read_text())["unfinished"] == ["part"]
    done = [load_results(folders["low"]), load_results(folders["high"])]
    table = differences(done, ["low", "high"])
    assert "Unfinished" not in markdown_table(table, done, ["low", "high"]) and set(table["unfinished"]) == {""}


def test_compare_writes_tables_charts_and_provenance(folders, tmp_path):
    out = tmp_path / "out"
    result = compare([folders["low"], folders["high"]], out, formats=("png", "svg"))
    names = {p.name for p in result.paths}
    # the grids share no cell (other us_demand values): phase diagrams side by side, not differences
    assert {"differences.csv", "differences.md", "compare.json", "fan_difference.png", "outcome_distributions.svg",
            "phase_escalation.png", "phase_regional_spending_growth.png"} <= names
    for p in result.paths:
        assert p.exists()
        if p.suffix in (".png", ".svg"):
            assert_valid_image(p)
    text_cols = ["diff_method", "diff_note", "unfinished"]
    csv = pd.read_csv(out / "differences.csv", dtype=dict.fromkeys(text_cols, str))
    csv[text_cols] = csv[text_cols].fillna("")  # "" is written as an empty cell
    assert set(csv["experiment"]) == {"low", "high"}
    pd.testing.assert_frame_equal(csv, result.table, check_dtype=False)
    md = (out / "differences.md").read_text()
    assert md.startswith("# Comparison: low vs high")
    assert "| high − low (Welch) |" in md.splitlines()[-len(csv["outcome"].unique()) - 2]  # seeds differ
    growth = result.table.set_index(["outcome", "experiment"]).loc[("regional_spending_growth", "high")]
    assert f"{growth['mean']:.1f}" in md
    meta = json.loads((out / "compare.json").read_text())
    assert [i["label"] for i in meta["inputs"]] == ["low", "high"]
    assert meta["inputs"][1]["base_scenario"] == "us_demand_3_5"


def test_compare_overlays_only_what_the_results_share(folders, tmp_path):
    # grid3 varies (us_demand, alliance_credibility, threat_scale); lhs has no agent tables and four
    # parameters; both start with the same two, so their phase diagrams go side by side.
    result = compare([folders["grid3"], folders["lhs"]], tmp_path / "o1", formats="png")
    names = {p.name for p in result.paths}
    assert "phase_escalation.png" in names and "fan_chart.png" in names  # not both grids: side by side
    md = (tmp_path / "o1" / "differences.md").read_text()
    assert "different parameters or designs" in md
    one = write_result(tmp_path / "one", "grid", grid_points({"threat_scale": [0.5, 1.0, 2.0]}), 2, agents=False)
    result = compare([one, folders["low"]], tmp_path / "o2", formats="png")
    names = {p.name for p in result.paths}
    assert not any(n.startswith(("phase_", "response_")) for n in names)
    assert "fan_chart.png" in names  # drawn from the one result that has agent tables


def test_same_folder_names_get_unique_labels(folders, tmp_path):
    other = write_result(tmp_path / "copy" / "low", "grid", grid_points(POINTS), 2, agents=False)
    result = compare([folders["low"], other], tmp_path / "o", formats="png")
    assert len(set(result.labels)) == 2 and all("low" in lab for lab in result.labels)


def test_compare_rejects_bad_input(folders, tmp_path):
    with pytest.raises(ParameterError, match="at least two"):
        compare([folders["low"]], tmp_path / "o")
    with pytest.raises(ParameterError, match="nowhere"):
        compare([folders["low"], tmp_path / "nowhere"], tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_cli_compare_default_out(folders, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert default_out([folders["low"], folders["high"]]) == Path("results/compare-low-vs-high")
    assert main(["compare", str(folders["low"]), str(folders["high"]), "--format", "png"]) == 0
    out = tmp_path / "results" / "compare-low-vs-high"
    assert (out / "differences.md").is_file() and (out / "differences.csv").is_file()
    assert_valid_image(out / "outcome_distributions.png")
    assert "wrote results/compare-low-vs-high" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["missing", "no_manifest", "no_runs", "single"])
def test_cli_compare_bad_input_exits_2_with_one_line(folders, tmp_path, capsys, case):
    bad = {"missing": tmp_path / "nowhere", "no_manifest": tmp_path / "plain", "no_runs": tmp_path / "empty",
           "single": None}[case]
    if case == "no_manifest":
        bad.mkdir()
    if case == "no_runs":
        bad.mkdir()
        (bad / "manifest.json").write_text(json.dumps({"design": {"kind": "grid", "varied": ["us_demand"]}}))
    dirs = [str(folders["low"])] + ([str(bad)] if bad else [])
    assert main(["compare", *dirs, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("armsrace compare: error:") and "\n" not in err
    assert str(bad) in err if bad else "at least two" in err
    assert not (tmp_path / "o").exists()


TINY = """\
[experiment]
description = "tiny comparison sweep"
base = "{base}"
until = 2030

[fixed]
threat_noise = 0.05

[parameters]
alliance_credibility = [0.4, 0.8]

[design]
kind = "grid"

[replicates]
count = 3
root_seed = 5

[keep]
paths = true
"""


def test_end_to_end_compare_of_two_real_sweeps(tmp_path):
    dirs = []
    for base in ("baseline", "us_demand_3_5"):
        exp = tmp_path / f"{base}.toml"
        exp.write_text(textwrap.dedent(TINY.format(base=base)))
        dirs.append(run_sweep(exp, out=tmp_path / base, progress=False))
    result = compare(dirs, tmp_path / "cmp", formats="png")
    t = result.table.set_index(["outcome", "experiment"])
    a, b = (load_results(d).runs for d in dirs)
    assert t.loc[("final_burden_jpn", "us_demand_3_5"), "diff_vs_first"] == pytest.approx(
        (b["final_burden_jpn"].mean() - a["final_burden_jpn"].mean()) * 100)
    assert t.loc[("final_burden_jpn", "us_demand_3_5"), "diff_vs_first"] > 0  # a higher US demand
    assert_valid_image(tmp_path / "cmp" / "response_escalation.png")
    assert_valid_image(tmp_path / "cmp" / "fan_difference.png")
    assert set(t["diff_method"]) == {"", "paired"}  # same experiment on two bases: the runs share seeds


def test_the_analysis_computes_in_model_units_and_the_chart_module_shows_percent(folders):
    a, b = load_results(folders["low"]), load_results(folders["high"])
    raw = difference_table([a, b]).set_index(["outcome", "experiment"])
    shown = differences([a, b]).set_index(["outcome", "experiment"])
    assert "label" not in raw and "unit" not in raw
    for outcome, scale in (("final_burden_jpn", 100), ("share_spiral", 100), ("security_dilemma_index", 1),
                           ("cross_2pct_jpn", 1)):
        for col in ("mean", "ci_low", "ci_high", "diff_vs_first", "diff_low", "diff_high"):
            np.testing.assert_allclose(shown.loc[(outcome, "high"), col], raw.loc[(outcome, "high"), col] * scale,
                                       rtol=1e-12)
    assert raw.loc[("final_burden_jpn", "high"), "mean"] == pytest.approx(b.runs["final_burden_jpn"].mean())


# --- paired differences (sweeps that share seeds) ----------------------------------------------------

@pytest.fixture(scope="module")
def paired(tmp_path_factory) -> tuple[Path, Path]:
    """The same design and seeds on two bases: run i of A and run i of B see the same shocks."""
    root = tmp_path_factory.mktemp("paired")
    a = write_result(root / "a", "grid", grid_points(POINTS), 4, seed=7)

    def shift(values: dict) -> None:  # B: the same runs, burdens and growth raised, plus run-level noise
        rng = np.random.default_rng(3)
        for col in [c for c in values if c.startswith("final_burden_")] + ["regional_spending_growth"]:
            values[col] = values[col] + 0.01 + rng.normal(0, 0.0002, len(values[col]))

    def shift_paths(paths: dict) -> None:  # B's burden paths raised, with run-level noise
        paths["burden"] = paths["burden"] + 0.002 + np.random.default_rng(4).normal(0, 0.0005, paths["burden"].shape)

    b = write_result(root / "b", "grid", grid_points(POINTS), 4, seed=7, base_scenario="us_demand_3_5",
                     outcome_hook=shift, paths_hook=shift_paths)
    return a, b


def test_paired_interval_matches_a_hand_computation(paired):
    a, b = (load_results(p) for p in paired)
    assert pairing(a, b) is not None
    table = difference_table([a, b]).set_index(["outcome", "experiment"])
    row = table.loc[("final_burden_jpn", "b")]
    assert row["diff_method"] == "paired"
    # by hand: differences run by run, averaged within each replicate, t-interval over the 4 replicates
    d = b.runs["final_burden_jpn"].to_numpy() - a.runs["final_burden_jpn"].to_numpy()
    per_rep = pd.Series(d).groupby(a.runs["replicate"].to_numpy()).mean()
    half = stats.t.ppf(0.975, 3) * per_rep.std(ddof=1) / 2
    assert row["diff_vs_first"] == pytest.approx(per_rep.mean(), rel=1e-12)
    assert (row["diff_low"], row["diff_high"]) == pytest.approx((per_rep.mean() - half, per_rep.mean() + half),
                                                                rel=1e-12)
    # narrower than treating the sweeps as independent (the shared part of each run cancels)
    welch = welch_interval(mean_interval(a.runs["final_burden_jpn"], a.runs["replicate"]),
                           mean_interval(b.runs["final_burden_jpn"], b.runs["replicate"]))
    assert row["diff_high"] - row["diff_low"] < (welch[2] - welch[1]) / 1.5


def test_sweeps_with_other_seeds_are_not_paired(folders, paired):
    low, a = load_results(folders["low"]), load_results(paired[0])
    assert pairing(low, a) is None
    assert set(difference_table([low, a])["diff_method"]) == {"", "Welch"}


def test_compare_of_paired_grids_draws_difference_maps(paired, tmp_path):
    result = compare(list(paired), tmp_path / "o", formats="png")
    names = {p.name for p in result.paths}
    assert {"fan_difference.png", "phase_difference_spiral_share.png",
            "phase_difference_regional_spending_growth.png"} <= names
    assert not any(n.startswith("phase_escalation") for n in names)
    md = (tmp_path / "o" / "differences.md").read_text()
    assert "| b − a (paired) |" in md


def test_paired_fan_and_cell_differences(paired):
    a, b = (load_results(p) for p in paired)
    q, is_paired = paired_path_quantiles(a, b, ["JPN"])
    assert is_paired and set(q["country"]) == {"JPN"}
    last = q[q["year"] == q["year"].max()].iloc[0]
    # by hand: run i of A against run i of B (same design and seeds), Japan's last year
    cols = ["run", "year", "country", "burden"]
    pick = [t[(t["country"] == "JPN") & (t["year"] == last["year"])].sort_values("run")["burden"].to_numpy()
            for t in (a.read_agents(cols), b.read_agents(cols))]
    d = pick[1] - pick[0]
    assert d.std() > 0 and abs(d.mean()) > 1e-3  # the paths differ, pair by pair
    assert last["mean"] == pytest.approx(d.mean(), rel=1e-12)
    for name, level in (("q05", 0.05), ("q50", 0.5), ("q95", 0.95)):
        assert last[name] == pytest.approx(np.quantile(d, level), rel=1e-12)
    per_rep = pd.Series(d).groupby(a.runs.sort_values("run")["replicate"].to_numpy()).mean()
    half = stats.t.ppf(0.975, len(per_rep) - 1) * per_rep.std(ddof=1) / math.sqrt(len(per_rep))
    assert (last["ci_low"], last["ci_high"]) == pytest.approx((per_rep.mean() - half, per_rep.mean() + half))
    cells = cell_differences(a, b, "us_demand", "alliance_credibility", "regional_spending_growth")
    assert len(cells) == 6 and cells["paired"].all()
    one = cells[(cells["us_demand"] == 0.02) & (cells["alliance_credibility"] == 0.4)].iloc[0]
    mask = (a.runs["us_demand"] == 0.02) & (a.runs["alliance_credibility"] == 0.4)
    expected = (b.runs.loc[mask, "regional_spending_growth"] - a.runs.loc[mask, "regional_spending_growth"]).mean()
    assert one["diff"] == pytest.approx(expected, rel=1e-12)
    fig = phase_difference([a, b], ["a", "b"], "us_demand", "alliance_credibility", "spiral_share")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 6 and all("/" in t for t in texts)  # counts of runs, "+1/4"
    norm = fig.axes[0].collections[0].norm
    assert norm.vcenter == 0 and norm.vmin == -norm.vmax  # diverging, centred on 0
