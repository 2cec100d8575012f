"""The report command end to end on the quick configuration, and its links."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import REPO, armsrace

from model.report import FIG_DIR, md_table, report_links


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    before = sorted(p.name for p in (REPO / "results").iterdir()) if (REPO / "results").exists() else []
    r = armsrace("report", "--quick", "--out", str(out))
    after = sorted(p.name for p in (REPO / "results").iterdir()) if (REPO / "results").exists() else []
    assert before == after, "the report must write only to --out"
    return r, out


def test_runs_and_writes_report_with_sections(report):
    r, out = report
    assert r.returncode == 0, r.stderr
    text = (out / "REPORT.md").read_text()
    for heading in ("## 1. The article's six scenarios", "## 2. Which of the article's claims",
                    "## 3. Calibration and out-of-sample backtest", "## 4. Sensitivity analysis",
                    "## 5. Assumptions and data limits"):
        assert heading in text
    assert "Quick mode" in text
    for scenario in ("baseline", "us_demand_3_5", "nato_precedent_5", "counterattack_codified",
                     "credibility_shock", "restraint"):
        assert scenario in text
    for limit in ("SIPRI estimates", "WMEAT", "Growth", "perpetual inventory", "Anchoring"):
        assert limit in text


def test_every_link_exists_and_is_relative(report):
    _, out = report
    text = (out / "REPORT.md").read_text()
    links = report_links(text)
    images = [link for link in links if link.endswith(".png")]
    assert len(images) >= 5  # scenarios (2), backtest (2), sensitivity
    for link in links:
        assert not link.startswith("/"), link
        assert (out / link).exists(), link
    for img in images:
        assert (out / img).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", img


def test_claims_are_computed_with_numbers_and_verdicts(report):
    _, out = report
    claims = pd.read_csv(out / FIG_DIR / "claims.csv")
    assert len(claims) >= 6
    assert set(claims["verdict"]) <= {"reproduced", "partly", "not reproduced"}
    assert claims["numbers"].str.contains(r"\d").all()
    # the US ask claim compares Japan's burden with the baseline; its numbers are in the text
    first = claims.iloc[0]
    assert "us_demand_3_5" in first["comparison"] and "%" in first["numbers"]


def test_tables_behind_the_report(report):
    _, out = report
    for stem in ("scenarios", "claims", "calibration", "backtest_one_step", "sensitivity_indices"):
        assert (out / FIG_DIR / f"{stem}.csv").stat().st_size > 0
    idx = pd.read_csv(out / FIG_DIR / "sensitivity_indices.csv")
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(idx.columns)
    assert set(idx["outcome"]) == {"burden_jpn_2035", "regional_spending_growth", "spiral_share"}


def test_md_table_and_links_helpers():
    text = md_table(pd.DataFrame({"a": [1.23456, float("nan")], "b": ["x|y", "z"]}), floatfmt=".2f")
    assert text.splitlines()[2] == "| 1.23 | x\\|y |" and "–" in text
    assert report_links("![a](report/x.png) [b](https://e.org) [c](report/)") == ["report/x.png", "report/"]
