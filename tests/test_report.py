"""The report (model/report.py) end to end on the quick configuration: its structure (sections, tables
and their columns, links, claims with numbers and a verdict) and its numbers, recomputed.

No English sentence is compared: the wording may change freely, the numbers may not.
"""

from __future__ import annotations

import dataclasses
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from helpers import REPO, armsrace, full_disk

from model import report as report_module
from model.analysis.sensitivity import run_sensitivity
from model.report import (
    FIG_DIR,
    QUICK,
    SCENARIO_COLUMNS,
    SCENARIOS,
    SENSITIVITY_COLUMNS,
    VERDICTS,
    Report,
    Settings,
    md_table,
    report_links,
)
from model.sim.model import ArmsRaceModel
from model.sim.scenarios import experiments_dir, load_scenario

SEED = 1


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    (out / FIG_DIR).mkdir()  # the user's files beside the report and in its figures folder stay
    (out / "notes.md").write_text("mine")
    (out / FIG_DIR / "my_figure.png").write_bytes(b"mine")
    before = sorted(p.name for p in (REPO / "results").iterdir()) if (REPO / "results").exists() else []
    r = armsrace("report", "--quick", "--seed", str(SEED), "--out", str(out))
    after = sorted(p.name for p in (REPO / "results").iterdir()) if (REPO / "results").exists() else []
    assert before == after, "the report must write only to --out"
    assert r.returncode == 0, r.stderr
    assert (out / "notes.md").read_text() == "mine" and (out / FIG_DIR / "my_figure.png").read_bytes() == b"mine"
    return out, (out / "REPORT.md").read_text()


@pytest.fixture(scope="module")
def recomputed():
    """The report's inputs, computed again in this process: scenario runs and the quick sensitivity."""
    summary, agents = report_module.run_scenarios()
    sa = run_sensitivity(n=QUICK.sobol_n, seed=SEED)
    return summary, agents, sa


def sections(text: str) -> dict[str, str]:
    """Numbered sections (``## N. ...``) by number, each with its text up to the next heading."""
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    return {m.group(1): part for part in parts if (m := re.match(r"(\d+)\. ", part))}


def tables(text: str) -> list[pd.DataFrame]:
    """Every Markdown table in ``text``, as strings (escaped pipes kept as ``|``)."""
    out, block = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            rows = [[c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", b.strip())[1:-1]] for b in block]
            out.append(pd.DataFrame(rows[2:], columns=rows[0]))
            block = []
    return out


# --- structure -----------------------------------------------------------------------------------

def test_six_numbered_sections_in_order_and_quick_mode_recorded(report):
    out, text = report
    found = sections(text)
    assert list(found) == ["1", "2", "3", "4", "5", "6"]
    for number, word in zip(found, ("scenarios", "claims", "backtest", "Sensitivity", "Escalation", "limits")):
        assert word in found[number].splitlines()[0], found[number].splitlines()[0]
    meta = pd.read_json(out / FIG_DIR / "metadata.json", typ="series")
    assert meta["settings"]["quick"] is True and meta["settings"]["seed"] == SEED
    assert meta["settings"]["sobol_n"] == QUICK.sobol_n
    assert f"`{dataclasses.replace(QUICK, seed=SEED).command()}`" in text  # how to get the same report


def test_every_link_exists_and_is_relative(report):
    out, text = report
    links = report_links(text)
    images = [link for link in links if link.endswith(".png")]
    assert len(images) >= 6  # scenarios (2), backtest (3), sensitivity (and the PRIM box with the extra)
    for link in links:
        assert not link.startswith("/"), link
        assert (out / link).exists(), link
    for img in images:
        assert (out / img).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", img


CLAIM_SHOWN = ["#", "claim", "label", "metric", "point", "median", "verdict", "interval (5-95%)"]


def test_tables_behind_the_report_have_their_columns(report):
    out, _ = report
    for stem in ("scenarios", "scenarios_without_prk", "claims", "claims_draws", "calibration", "backtest_rolling",
                 "backtest_summary", "backtest_one_origin", "sensitivity_indices", "sensitivity_outcomes",
                 "escalation_runs"):
        assert (out / FIG_DIR / f"{stem}.csv").stat().st_size > 0, stem
    scenarios = pd.read_csv(out / FIG_DIR / "scenarios.csv")
    assert scenarios["scenario"].tolist() == list(SCENARIOS) and set(SCENARIO_COLUMNS) <= set(scenarios.columns)
    without = pd.read_csv(out / FIG_DIR / "scenarios_without_prk.csv")
    assert "final_burden_prk" not in without.columns and "final_burden_chn" in without.columns
    claims = pd.read_csv(out / FIG_DIR / "claims.csv")
    assert {"claim", "label", "point", "median", "p05", "p95", "verdict", "why"} <= set(claims.columns)
    idx = pd.read_csv(out / FIG_DIR / "sensitivity_indices.csv")
    assert list(idx.columns[:6]) == ["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert "undefined" in idx.columns
    backtest = pd.read_csv(out / FIG_DIR / "backtest_one_origin.csv")
    assert {"country", "variable", "rmse_model", "rmse_last", "rmse_trend", "best_rmse"} <= set(backtest.columns)


def test_markdown_tables_have_the_declared_columns(report):
    _, text = report
    found = sections(text)
    scenario_table = tables(found["1"])[0]
    assert list(scenario_table.columns)[0] == "scenario" and len(scenario_table.columns) == len(SCENARIO_COLUMNS) + 1
    assert scenario_table["scenario"].tolist() == list(SCENARIOS)
    assert list(tables(found["2"])[0].columns) == CLAIM_SHOWN
    sens = tables(found["4"])[0]
    assert list(sens.columns) == list(SENSITIVITY_COLUMNS)


def test_every_claim_has_numbers_a_label_and_a_verdict(report):
    out, text = report
    claims = pd.read_csv(out / FIG_DIR / "claims.csv")
    assert len(claims) >= 7 and claims["#"].tolist() == list(range(1, len(claims) + 1))
    assert set(claims["verdict"]) <= set(VERDICTS) and set(claims["label"]) == {"built in", "emergent"}
    assert (claims["p05"] <= claims["median"]).all() and (claims["median"] <= claims["p95"]).all()
    shown = tables(sections(text)["2"])[0]
    assert shown["verdict"].tolist() == claims["verdict"].tolist()
    assert shown["point"].tolist() == [format(x, ".3f") for x in claims["point"]]
    draws = pd.read_csv(out / FIG_DIR / "claims_draws.csv")
    assert draws.groupby("claim").size().eq(QUICK.draws).all()


# --- numbers, recomputed -------------------------------------------------------------------------

def test_scenario_outcomes_are_those_of_each_scenario_run(report):
    out, text = report
    written = pd.read_csv(out / FIG_DIR / "scenarios.csv").set_index("scenario")
    shown = tables(sections(text)["1"])[0].set_index("scenario")
    for name in SCENARIOS:
        summary = ArmsRaceModel(params=load_scenario(name).params, rng=0).run().summary()
        assert written.loc[name, "escalation"] == summary["escalation"]
        for k, col in enumerate(SCENARIO_COLUMNS[1:11], start=1):
            assert written.loc[name, col] == pytest.approx(summary[col], rel=1e-12, abs=1e-15), (name, col)
            assert shown.loc[name].iloc[k] == format(summary[col], ".4f"), (name, col)
        for col in ("cross_2pct_jpn", "cross_3_5pct_jpn"):
            expected = "–" if pd.isna(summary[col]) else str(int(summary[col]))
            assert shown.loc[name].iloc[SCENARIO_COLUMNS.index(col)] == expected


def test_claims_table_is_the_claims_recomputed(report):
    from model.analysis.claims import check_claims

    out, _ = report
    expected, _ = check_claims(QUICK.draws)
    written = pd.read_csv(out / FIG_DIR / "claims.csv")
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)


def test_claim_points_are_the_scenario_values(recomputed):
    from model.analysis.claims import check_claims

    summary, agents, _ = recomputed
    claims, _ = check_claims(draws=4)
    first = claims.iloc[0]
    jb = report_module.value(agents, "us_demand_3_5", "JPN", "burden", 2040)
    jb0 = report_module.value(agents, "baseline", "JPN", "burden", 2040)
    assert first["point"] == pytest.approx(100 * (jb - jb0), rel=1e-9)
    # China's spending (claim 3) is measured as it is named, and claim 8 runs through it: the rivals
    # cannot "arm in turn" (8) where China's spending response (3) is not an effect
    cs = report_module.value(agents, "nato_precedent_5", "CHN", "spending", 2040)
    cs0 = report_module.value(agents, "baseline", "CHN", "spending", 2040)
    third, eighth = claims.set_index("#").loc[3], claims.set_index("#").loc[8]
    assert third["point"] == pytest.approx(100 * (cs / cs0 - 1), rel=1e-9)
    assert eighth["verdict"] != "reproduced" or third["verdict"] == "reproduced"


def test_sensitivity_indices_are_the_declared_experiments_recomputed(report, recomputed):
    out, text = report
    _, _, sa = recomputed
    written = pd.read_csv(out / FIG_DIR / "sensitivity_indices.csv", dtype={"undefined": str})
    written["undefined"] = written["undefined"].fillna("")  # "" is written as an empty cell
    expected = sa.indices
    pd.testing.assert_frame_equal(written, expected, check_dtype=False, rtol=1e-12)
    # the declared experiment: its eight parameters, second order, N = QUICK's override of the file's
    assert set(written["parameter"]) == set(sa.experiment.names) and len(sa.experiment.names) == 8
    assert any(c.startswith("S2_") for c in written.columns)
    assert sa.n == QUICK.sobol_n and sa.declared_n == 128 and sa.n_runs == 8 * (2 * 8 + 2)
    # the table in the text: its cells are the indices' own numbers
    shown = tables(sections(text)["4"])[0]
    pd.testing.assert_frame_equal(shown, report_module.sensitivity_rows(sa))
    outcomes = pd.read_csv(out / FIG_DIR / "sensitivity_outcomes.csv")
    pd.testing.assert_frame_equal(outcomes, sa.outcomes, check_dtype=False, rtol=1e-12)


def test_sensitivity_rows_report_the_largest_indices(recomputed):
    _, _, sa = recomputed
    rows = report_module.sensitivity_rows(sa).set_index("outcome")
    summary = sa.summary()
    for name, label in sa.labels.items():
        d = sa.indices[sa.indices["outcome"] == name]
        row = rows.loc[label]
        assert row["mean (sd)"] == f"{summary.loc[name, 'mean']:.3g} ({summary.loc[name, 'sd']:.2g})"
        if d["ST"].isna().all():
            assert row["largest ST"].startswith("indices undefined")
            continue
        top = d.loc[d["ST"].idxmax()]
        assert row["largest ST"].split(" ST ")[0] == top["parameter"]
        assert f"{top['ST']:.2f} ± {top['ST_conf']:.2f}" in row["largest ST"]
        s2 = d.set_index("parameter")[[f"S2_{p}" for p in d["parameter"]]]
        assert f"{np.nanmax(s2.to_numpy()):.2f}" in row["largest S2"]


# --- helpers and pieces --------------------------------------------------------------------------

def test_md_table_and_links_helpers():
    text = md_table(pd.DataFrame({"a": [1.23456, float("nan")], "b": ["x|y", "z"]}), floatfmt=".2f")
    assert text.splitlines()[2] == "| 1.23 | x\\|y |" and "–" in text
    assert report_links("![a](report/x.png) [b](https://e.org) [c](report/)") == ["report/x.png", "report/"]
    parsed = tables(text)[0]
    assert parsed.columns.tolist() == ["a", "b"] and parsed["b"].tolist() == ["x|y", "z"]


def test_settings_know_quick_mode_whatever_the_seed():
    seeded = dataclasses.replace(QUICK, seed=1)
    assert seeded.quick and seeded != QUICK
    assert seeded.command() == "armsrace report --quick --seed 1"
    assert not Settings().quick and Settings(seed=3).command() == "armsrace report --seed 3"
    assert Settings().sobol_n is None  # the full report: the experiment's own N


UNDEFINED = """\
[experiment]
base = "baseline"
until = 2030

[parameters]
us_demand = { low = 0.02, high = 0.05 }
adjustment_speed_jpn = { low = 0.05, high = 0.3 }

[design]
kind = "sobol"
n = 4
seed = 1
"""


def test_sensitivity_section_of_an_outcome_without_variance(tmp_path):
    path = tmp_path / "flat.toml"
    path.write_text(UNDEFINED)
    sa = run_sensitivity(path)
    assert (sa.runs["escalation"] != "spiral").all()  # deterministic, no spirals: the share never varies
    spiral = sa.indices[sa.indices["outcome"] == "spiral_share"]
    assert spiral[["S1", "S1_conf", "ST", "ST_conf"]].isna().all().all()
    assert set(spiral["undefined"]) == {"no variance"}
    assert (sa.indices[sa.indices["outcome"] != "spiral_share"]["undefined"] == "").all()
    rep = Report(markdown="")
    text = "\n".join(report_module._sensitivity_section(rep, sa))
    fig = rep.figures.pop("sensitivity.png")
    panel_texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    plt.close(fig)
    row = tables(text)[0].set_index("outcome").loc[sa.labels["spiral_share"]]
    assert row["largest ST"] == "indices undefined: no variance"
    assert any("no variance" in t for t in panel_texts)
    assert f"N = {sa.n}" in text and f"{sa.n_runs:,}" in text  # the design's own numbers


# --- estimation, backtest, escalation -------------------------------------------------------------

def test_backtest_section_is_the_rolling_backtest_recomputed(report):
    from model.analysis import backtest as bt

    out, text = report
    summary = pd.read_csv(out / FIG_DIR / "backtest_summary.csv", dtype={"origin": str})
    expected = bt.rolling(QUICK.origins, seed=SEED).summary
    pd.testing.assert_frame_equal(summary, expected, check_dtype=False, rtol=1e-12)
    overall = expected[(expected.origin == "all") & (expected.variable == "burden")].iloc[0]
    assert f"**{overall['geo_ratio']:.2f}**" in sections(text)["3"]


def test_uncertainty_spread_is_the_two_paired_experiments(report):
    """Section 2 ends with the spread under parameter draws against shocks, from the shipped experiments."""
    out, text = report
    spread = pd.read_csv(out / FIG_DIR / "uncertainty_spread.csv")
    assert set(spread["uncertainty"]) == set(report_module.UNCERTAINTY_EXPERIMENTS)
    from model.batch.experiments import load_experiment
    from model.batch.sweep import run_in_memory

    shocks = load_experiment(experiments_dir() / report_module.UNCERTAINTY_EXPERIMENTS["yearly shocks"])
    runs = run_in_memory(shocks)[0]
    row = spread[(spread["outcome"] == "Japan") & (spread["uncertainty"] == "yearly shocks")].iloc[0]
    assert row["p95"] == pytest.approx(100 * runs["final_burden_jpn"].quantile(0.95))
    assert row["p05"] == pytest.approx(100 * runs["final_burden_jpn"].quantile(0.05))
    assert len(runs) == shocks.n_runs == 200
    assert "Parameter uncertainty against yearly shocks" in sections(text)["2"]


def test_escalation_section_counts_the_main_experiment(report):
    out, text = report
    runs = pd.read_csv(out / FIG_DIR / "escalation_runs.csv")
    assert len(runs) == 1440
    shares = runs["escalation"].value_counts(normalize=True)
    section = sections(text)["5"]
    for c in ("stable", "buildup", "spiral"):
        assert f"{c} {shares.get(c, 0.0):.0%}" in section
    # the classes at the estimate alone, and how many threat levels lie beyond its interval
    at = runs[runs["threat_scale"] == 1.0]["escalation"].value_counts(normalize=True)
    assert "At the estimate (x1) alone: " + ", ".join(f"{c} {at.get(c, 0.0):.0%}" for c in
                                                      ("stable", "buildup", "spiral")) in section
    top = report_module.threat_interval_top()
    beyond = sum(v > top for v in runs["threat_scale"].unique())
    assert f"{beyond} of the {runs['threat_scale'].nunique()} threat-response levels" in section
    if (out / FIG_DIR / "prim_spiral_box.csv").exists():  # with the discover extra
        box = pd.read_csv(out / FIG_DIR / "prim_spiral_box.csv")
        assert "threat_scale" in set(box["parameter"])


# --- outputs -------------------------------------------------------------------------------------

def test_report_again_is_refused_at_once_without_force(report):
    out, text = report
    r = armsrace("report", "--quick", "--out", str(out))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert str(out / "REPORT.md") in r.stderr and "add --force" in r.stderr
    assert (out / "REPORT.md").read_text() == text


def test_a_full_disk_while_writing_the_report_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    from model import cli

    def tiny(settings, train_until):  # the writing is what is tested, not the (slow) computing
        fig = plt.figure()
        return Report(markdown="# Report\n", figures={"a.png": fig}, tables={"claims": pd.DataFrame({"x": [1]})},
                      timings={"total": 0.0})

    monkeypatch.setattr(report_module, "build_report", tiny)
    out = tmp_path / "out"
    out.mkdir()
    opened = full_disk(monkeypatch, after=1)
    assert cli.main(["report", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    failed = out / FIG_DIR / opened[1].name
    assert err == (f"armsrace report: error: The file {str(failed)!r} cannot be written: No space left on device; "
                   f"nothing was written to {str(out)!r}.\n")
    assert list(out.iterdir()) == [] and [p.name for p in tmp_path.iterdir()] == ["out"]
