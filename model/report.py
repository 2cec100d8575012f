"""The project report: scenarios, the article's claims checked, backtest, sensitivity, limits.

:func:`build_report` computes everything and returns the Markdown text and the figures;
:func:`write_report` writes ``REPORT.md`` and ``report/`` (figures and the tables behind them)
through :func:`model.batch.store.staged_output`, so a failed run leaves nothing half-written. Every
statement about a claim is a computed comparison between two deterministic scenario runs (seed
0; the scenarios have no noise), with its numbers; the verdict follows from the numbers by the
rule stated next to it.

Sections: the six article scenarios (``baseline``, ``us_demand_3_5``, ``nato_precedent_5``,
``counterattack_codified``, ``credibility_shock``, ``restraint``) side by side; the claims; the
calibration (1995-2014) and the out-of-sample backtest (2015-2024) against naive forecasts; the
Sobol sensitivity analysis of the project's declared experiment ``experiments/sensitivity.toml``
(:func:`model.analysis.sensitivity.run_sensitivity`: the same runs and estimator as ``armsrace sweep``
and ``armsrace plot`` of that file); the assumptions and data limits. Figures are drawn by
:mod:`model.charts`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from model.analysis.backtest import Backtest, backtest
from model.analysis.calibrate import coefficient_table
from model.analysis.sensitivity import Sensitivity, run_sensitivity
from model.analysis.sobol import SALIB_SEED_OFFSET
from model.batch.store import code_version, metadata, staged_output, subfolder, write_csv, write_json, write_text
from model.charts.backtest import plot_backtest
from model.charts.scenarios import plot_comparison, plot_scenarios
from model.charts.sobol import plot_indices
from model.charts.style import save_figure
from model.sim.data import (
    PRK_BURDEN_ESTIMATE,
    PRK_GDP_ESTIMATE,
    PRK_GROWTH_ASSUMPTION,
    default_growth,
    history,
)
from model.sim.model import ArmsRaceModel
from model.sim.params import ALLIES, NAMES, specs
from model.sim.scenarios import load_scenario

SCENARIOS = ("baseline", "us_demand_3_5", "nato_precedent_5", "counterattack_codified",
             "credibility_shock", "restraint")
"""The six article scenarios, in the report's order."""
FIG_DIR = "report"
"""Figures and tables go to ``<out>/report/``; REPORT.md links to them relatively."""
TRAIN_UNTIL = 2014
EFFECT = 1e-4
"""Smallest difference of burdens (share of GDP, i.e. 0.01 percentage point) counted as an effect."""
REL_EFFECT = 1e-3
"""Smallest relative difference of threat or spending (0.1%) counted as an effect."""
VERDICTS = ("reproduced", "partly", "not reproduced")
SCENARIO_COLUMNS = ("escalation", "regional_burden_start", "regional_burden_end", "regional_spending_growth",
                    "security_dilemma_index", "final_burden_jpn", "final_burden_kor", "final_burden_phl",
                    "final_burden_chn", "final_burden_prk", "final_burden_rus", "cross_2pct_jpn", "cross_3_5pct_jpn")
"""Outcomes of the scenario table (section 1), in order."""
CLAIM_COLUMNS = ("#", "claim", "comparison", "numbers", "verdict")
"""Columns of the claims table (section 2); ``claims.csv`` adds the rule."""


@dataclass(frozen=True)
class Settings:
    """How much to compute.

    Attributes:
        sobol_n: Saltelli base sample size (a power of 2) instead of the sensitivity experiment's
            own (None: the experiment's, ``experiments/sensitivity.toml``).
        objectives: calibration objectives to backtest ("one-step", "free-run").
        starts: starting adjustment speeds of the calibration.
        seed: seed of the bootstrap intervals of the Sobol indices (design and run seeds are the
            experiment's own).
        quick: small settings for a first look (the report says so); ``armsrace report --quick``.
    """

    sobol_n: int | None = None
    objectives: tuple[str, ...] = ("one-step", "free-run")
    starts: tuple[float, ...] = (0.1, 0.3, 0.7)
    seed: int = 0
    quick: bool = False

    def command(self) -> str:
        """The ``armsrace report`` options that give these settings (the full ones unless ``quick``)."""
        return f"armsrace report{' --quick' if self.quick else ''} --seed {self.seed}"


QUICK = Settings(sobol_n=8, objectives=("one-step",), starts=(0.3,), quick=True)
"""Small settings for tests and a first look (seconds)."""


@dataclass
class Report:
    """A built report: the Markdown text, figures by file name, tables by file stem."""

    markdown: str
    figures: dict[str, Figure] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


# --- scenarios ---------------------------------------------------------------------------------

def run_scenarios(names: tuple[str, ...] = SCENARIOS, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run each scenario once with Mesa (seed ``seed``).

    Returns:
        ``(summary, agents)``: one row per scenario with ``ArmsRaceModel.summary()`` outcomes
        (index: scenario name), and the agent-year table with a ``scenario`` column.
    """
    rows, tables = {}, []
    for name in names:
        m = ArmsRaceModel(params=load_scenario(name).params, rng=seed).run()
        rows[name] = m.summary()
        t = m.agent_table()
        t.insert(0, "scenario", name)
        tables.append(t)
    return pd.DataFrame(rows).T, pd.concat(tables, ignore_index=True)


def value(agents: pd.DataFrame, scenario: str, iso: str, var: str, year: int) -> float:
    """One agent variable of one scenario in one year."""
    row = agents[(agents["scenario"] == scenario) & (agents["country"] == iso) & (agents["year"] == year)]
    return float(row[var].iloc[0])


# --- claims ------------------------------------------------------------------------------------

def check_claims(agents: pd.DataFrame, summary: pd.DataFrame, sa: Sensitivity | None = None,
                 year: int = 2040) -> pd.DataFrame:
    """Each claim of the article as a computed comparison of two scenarios.

    Args:
        agents, summary: from :func:`run_scenarios`.
        sa: a sensitivity analysis, for the share of its runs that spiral.
        year: the year compared.

    Returns:
        One row per check: ``#``, ``claim``, ``comparison``, ``numbers`` (text with the values),
        ``verdict`` (one of :data:`VERDICTS`) and ``rule``.
    """
    v = lambda s, c, var, y=year: value(agents, s, c, var, y)  # noqa: E731
    rows = []

    # 1. the US ask lifts Japan above its 2% path
    diffs = {y: v("us_demand_3_5", "JPN", "burden", y) - v("baseline", "JPN", "burden", y) for y in (2030, 2035, year)}
    jb, jb0 = v("us_demand_3_5", "JPN", "burden"), v("baseline", "JPN", "burden")
    lash, lash0 = v("us_demand_3_5", "JPN", "backlash", 2030), v("baseline", "JPN", "backlash", 2030)
    cross = summary.loc["us_demand_3_5", "cross_3_5pct_jpn"]
    rows.append({
        "claim": "US pressure for 3.5% lifts Japan above its 2% path (fiscal strain and backlash slow it)",
        "comparison": "Japan's burden, us_demand_3_5 vs baseline",
        "numbers": (f"{year}: {jb:.2%} vs {jb0:.2%} (+{100 * diffs[year]:.2f} pp); 2030: +{100 * diffs[2030]:.2f} pp, "
                    f"2035: +{100 * diffs[2035]:.2f} pp; 3.5% reached: "
                    f"{'never by ' + str(year) if pd.isna(cross) else int(cross)}; Japan's backlash in 2030 "
                    f"{lash:.3f} vs {lash0:.3f}"),
        "verdict": "reproduced" if diffs[year] > EFFECT and jb > 0.02 + EFFECT else "not reproduced",
        "rule": "reproduced if Japan ends above both 2% and the baseline by more than 0.01 pp",
    })

    # 2. an allied build-up raises Chinese and North Korean threat and spending
    for scen in ("us_demand_3_5", "nato_precedent_5"):
        rel = {(c, var): v(scen, c, var) / v("baseline", c, var) - 1
               for c in ("CHN", "PRK") for var in ("threat", "spending")}
        ok = [r > REL_EFFECT for r in rel.values()]
        allied = sum(v(scen, c, "spending") - v("baseline", c, "spending") for c in ALLIES)
        rows.append({
            "claim": "An allied build-up raises China's and North Korea's perceived threat and spending",
            "comparison": f"{scen} vs baseline, {year}",
            "numbers": (f"allies' spending +{allied:.1f} US$ bn; "
                        + "; ".join(f"{c} {var} {rel[(c, var)]:+.2%}" for c in ("CHN", "PRK")
                                    for var in ("threat", "spending"))),
            "verdict": "reproduced" if all(ok) else ("partly" if any(ok) else "not reproduced"),
            "rule": "reproduced if all four rise by more than 0.1%; partly if some do",
        })

    # 3. counterattack capacity raises the rivals' threat perception
    rivals = ("CHN", "PRK", "RUS")
    rel = {c: v("counterattack_codified", c, "threat") / v("baseline", c, "threat") - 1 for c in rivals}
    sp = {c: v("counterattack_codified", c, "spending") / v("baseline", c, "spending") - 1 for c in rivals}
    ok = [r > REL_EFFECT for r in rel.values()]
    rows.append({
        "claim": "Japan's strike doctrine raises Chinese, North Korean and Russian threat perception",
        "comparison": f"counterattack_codified vs baseline, {year}",
        "numbers": "; ".join(f"{c} threat {rel[c]:+.2%}, spending {sp[c]:+.2%}" for c in rel),
        "verdict": "reproduced" if all(ok) else ("partly" if any(ok) else "not reproduced"),
        "rule": "reproduced if all three threats rise by more than 0.1%",
    })

    # 4. a credibility shock raises allied self-reliance
    d = {c: v("credibility_shock", c, "burden") - v("baseline", c, "burden") for c in ALLIES}
    ok = [x > EFFECT for x in d.values()]
    why = ""
    floors = {n: float(load_scenario(n).params["floor_target_jpn"]) for n in ("credibility_shock", "baseline")}
    on_floor = all(f > 0 and abs(v(n, "JPN", "burden") - f) < 1e-9 for n, f in floors.items())
    if not ok[0] and on_floor:
        levels = " / ".join(dict.fromkeys(f"{100 * f:g}%" for f in floors.values()))
        why = f" (Japan ends exactly on its legislated {levels} floor in both runs: the floor binds)"
    rows.append({
        "claim": "Doubts about US protection raise allied self-reliance (allies spend more)",
        "comparison": f"allies' burden, credibility_shock vs baseline, {year}",
        "numbers": "; ".join(f"{c} {100 * x:+.2f} pp" for c, x in d.items()) + why,
        "verdict": "reproduced" if all(ok) else ("partly" if any(ok) else "not reproduced"),
        "rule": "reproduced if every ally's burden rises by more than 0.01 pp; partly if some do",
    })

    # 5. restraint: no build-up
    s = summary.loc["restraint"]
    b = summary.loc["baseline"]
    ok = s["escalation"] == "stable" and s["regional_burden_end"] <= s["regional_burden_start"] + EFFECT
    rows.append({
        "claim": "Without pressure and with lower hostility the region does not build up",
        "comparison": "restraint: escalation class and regional burden; vs baseline",
        "numbers": (f"class {s['escalation']}; regional burden {s['regional_burden_start']:.2%} → "
                    f"{s['regional_burden_end']:.2%} (baseline → {b['regional_burden_end']:.2%}); regional "
                    f"spending growth {s['regional_spending_growth']:+.1%} vs {b['regional_spending_growth']:+.1%}"),
        "verdict": "reproduced" if ok else "not reproduced",
        "rule": "reproduced if stable and the regional burden does not rise",
    })

    # 6. the security dilemma: build-ups leave more countries arming and feeling less secure
    idx = summary["security_dilemma_index"].astype(float)
    up = max(idx["us_demand_3_5"], idx["nato_precedent_5"]) > idx["baseline"]
    down = idx["restraint"] < idx["baseline"]
    rows.append({
        "claim": "Build-ups feed a security dilemma (more countries arm and end up feeling less secure)",
        "comparison": "security-dilemma index (0-1), build-up scenarios and restraint vs baseline",
        "numbers": ", ".join(f"{n} {idx[n]:.2f}" for n in summary.index),
        "verdict": "reproduced" if up and down else ("partly" if up or down else "not reproduced"),
        "rule": "reproduced if a build-up scenario raises the index above the baseline and restraint lowers "
                "it; partly if only one holds",
    })

    # 7. a spiral is possible
    spirals = [n for n in summary.index if summary.loc[n, "escalation"] == "spiral"]
    text = f"spirals among the six deterministic runs: {', '.join(spirals) or 'none'}"
    verdict = "reproduced" if spirals else "not reproduced"
    if sa is not None:
        share = float(sa.outcomes["spiral_share"].mean())
        prk = float(sa.outcomes["spiral_prk_cap_share"].mean())
        text += (f"; in the sensitivity experiment ({sa.n_runs} runs over the parameter ranges) {share:.1%} of runs "
                 f"spiral, "
                 f"{prk / share if share else 0:.0%} of them by North Korea ending at its "
                 f"{sa.base['burden_cap_prk']:.0%} cap")
        if not spirals and share > 0:
            verdict = "partly" if prk / share > 0.5 else "reproduced"
    rows.append({
        "claim": "A spiral is possible",
        "comparison": "escalation class of the six runs; spiral share in the sensitivity experiment",
        "numbers": text,
        "verdict": verdict,
        "rule": "reproduced if some run spirals other than by North Korea's assumed cap; partly if spirals "
                "occur only in the sensitivity experiment and mostly through North Korea's cap",
    })
    out = pd.DataFrame(rows)
    out.insert(0, "#", np.arange(1, len(out) + 1))
    return out


# --- Markdown helpers --------------------------------------------------------------------------

def md_table(df: pd.DataFrame, floatfmt: str = ".3f", index: bool = False) -> str:
    """A DataFrame as a GitHub Markdown table (no third-party dependency)."""
    if index:
        df = df.reset_index()

    def cell(x) -> str:
        if isinstance(x, (float, np.floating)):
            return "–" if not np.isfinite(x) else format(x, floatfmt)
        return str(x).replace("|", "\\|")

    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _fig(report: Report, name: str, fig: Figure, alt: str) -> str:
    report.figures[name] = fig
    return f"![{alt}]({FIG_DIR}/{name})"


# --- the report --------------------------------------------------------------------------------

def build_report(settings: Settings = Settings(), train_until: int = TRAIN_UNTIL) -> Report:
    """Compute every section (see the module docstring)."""
    rep = Report(markdown="")
    md: list[str] = []
    t0 = time.perf_counter()

    # scenarios
    summary, agents = run_scenarios()
    rep.timings["scenarios"] = time.perf_counter() - t0
    table = summary[list(SCENARIO_COLUMNS)].copy()
    for c in ("cross_2pct_jpn", "cross_3_5pct_jpn"):
        table[c] = [("–" if pd.isna(y) else str(int(y))) for y in table[c]]
    rep.tables["scenarios"] = summary.reset_index(names="scenario")

    # backtests
    t = time.perf_counter()
    backtests: dict[str, Backtest] = {obj: backtest(train_until, objective=obj, starts=settings.starts)
                                      for obj in settings.objectives}
    rep.timings["calibration and backtest"] = time.perf_counter() - t
    main = backtests[settings.objectives[0]]

    # sensitivity
    t = time.perf_counter()
    sa: Sensitivity = run_sensitivity(n=settings.sobol_n, seed=settings.seed)
    rep.timings["sensitivity"] = time.perf_counter() - t
    rep.tables["sensitivity_indices"] = sa.indices
    rep.tables["sensitivity_outcomes"] = sa.outcomes
    claims = check_claims(agents, summary, sa)
    rep.tables["claims"] = claims

    code = code_version()
    md += [
        "# East Asian arms race model: report",
        "",
        f"Generated by `{settings.command()}` at code commit "
        f"`{(code['git_commit'] or 'unknown')[:10]}`{' (with uncommitted changes)' if code['git_dirty'] else ''}. "
        + ("**Quick mode: small samples, for a first look and for tests; numbers of the sensitivity "
           "analysis are not reliable.** " if settings.quick else "")
        + "Burden = military spending as a share of GDP; spending in US$ bn at constant 2023 prices. "
        "Every number below is computed by the code; figures and their data are in "
        f"[`{FIG_DIR}/`]({FIG_DIR}/).",
        "",
        "## 1. The article's six scenarios",
        "",
        "Deterministic runs from the 2024 SIPRI state to 2040 (seed 0; the scenarios carry no shocks). "
        "Each scenario file is in `experiments/scenarios/`.",
        "",
        _fig(rep, "scenarios_burden.png", plot_scenarios(agents), "Burden by scenario"),
        "",
        _fig(rep, "scenarios_compare.png", plot_comparison(agents), "Scenarios compared"),
        "",
        "Outcomes (`ArmsRaceModel.summary()`; burdens as shares of GDP, growth relative to 2024, crossing "
        "years – = never by 2040):",
        "",
        md_table(table.rename(columns=lambda c: c.replace("final_burden_", "2040 ").replace("regional_", "reg. "))
                 .reset_index(names="scenario"), floatfmt=".4f"),
        "",
        "## 2. Which of the article's claims the model reproduces",
        "",
        "Each claim is checked by comparing two deterministic scenario runs in 2040 (unless stated); the "
        "rule turns the numbers into the verdict.",
        "",
        md_table(claims[list(CLAIM_COLUMNS)]),
        "",
        "Rules: " + " ".join(f"({r['#']}) {r['rule']}." for _, r in claims.iterrows()),
        "",
    ]
    md += _backtest_section(rep, backtests, main, train_until)
    md += _sensitivity_section(rep, sa)
    md += _limits_section(main)
    rep.timings["total"] = time.perf_counter() - t0
    md += ["## Runtime", "", ", ".join(f"{k}: {v:.1f} s" for k, v in rep.timings.items()) + ".", ""]
    rep.markdown = "\n".join(md)
    return rep


def _backtest_section(rep: Report, backtests: dict[str, Backtest], main: Backtest, train_until: int) -> list[str]:
    cal = main.calibration
    coef = coefficient_table(cal)
    rep.tables["calibration"] = coef.reset_index(names="country")
    first, last = cal.train
    n_years = int(coef["n"].max())
    show = coef[["baseline_burden", "threat_sensitivity", "adjustment_speed", "drift", "n", "rmse_pp",
                 "rmse_persistence_pp", "r2_level", "r2_change", "growth"]].copy()
    show["growth"] = [f"{g:.1%}" for g in show["growth"]]
    show.columns = ["intercept", "threat sens.", "adj. speed", "drift /yr", "n", "RMSE pp",
                    "no-change RMSE pp", "R² level", "R² change", "GDP growth /yr"]
    weak = cal.coefficients[~cal.coefficients["identified"]]
    bound = cal.coefficients[cal.coefficients["at_bound"]]
    defaults = cal.coefficients[cal.coefficients["field"].isin(["threat_sensitivity", "adjustment_speed"])]
    md = [
        "## 3. Calibration and out-of-sample backtest",
        "",
        f"`armsrace calibrate` fits, for every country with a SIPRI series (not North Korea), the intercept of "
        f"the desired burden (anchoring off), the threat sensitivity, the adjustment speed and a drift by "
        f"bounded least squares on the years {first}-{last}, each year predicted by one model year "
        f"(`dynamics.step`) started from the observed state of the year before. Everything else keeps its "
        f"documented default. Fit (one-step-ahead; RMSE in percentage points of GDP; 'no change' = "
        f"last year's burden as the prediction):",
        "",
        md_table(show, floatfmt=".4g", index=True),
        "",
        f"Honest reading: the one-step fit beats 'no change' for "
        f"{int((coef['rmse_pp'] < coef['rmse_persistence_pp']).sum())} of {len(coef)} countries, but the "
        f"coefficients are weakly identified: {len(weak)} of {len(cal.coefficients)} have a standard error "
        f"larger than the value (or none), and {len(bound)} sit at a bound "
        f"({', '.join(bound['param']) or 'none'}). With {n_years} nearly flat yearly burdens per country the "
        f"fit cannot separate a trend (drift) from a slowly moving threat. Defaults vs fitted: "
        + "; ".join(f"{r.param} {r.default:g} → {r.value:.3g}" for r in defaults.itertuples()) + ". "
        + "Other settings changed from the defaults in the calibrated set: "
        + ("; ".join(f"`{n}` → {val:g} ({why})" for n, (val, why) in cal.adjustments.items()
                     if not n.startswith("growth_")) or "none") + ".",
        "",
        f"`armsrace backtest --train-until {train_until}` starts the calibrated model from the observed "
        f"{train_until} state, simulates {train_until + 1}-{main.test[1]} without shocks (GDP growth from the "
        f"training years, Japan's 2022 floor law left out), and scores it against the last value carried "
        f"forward and the linear trend of the training years (RMSE: burden in pp of GDP, spending in US$ bn; "
        f"MAPE in %):",
        "",
    ]
    for obj, bt in backtests.items():
        t = bt.table.copy()
        rep.tables[f"backtest_{obj.replace('-', '_')}"] = t
        t = t[["country", "variable", "rmse_model", "rmse_last", "rmse_trend", "mape_model", "mape_last",
               "mape_trend", "best_rmse", "best_mape"]]
        wins = bt.table["best_rmse"].value_counts()
        md += [f"**Calibration objective `{obj}`** — RMSE wins: model {int(wins.get('model', 0))}, last value "
               f"{int(wins.get('last', 0))}, trend {int(wins.get('trend', 0))} of {len(t)}.", "",
               md_table(t, floatfmt=".3g"), ""]
        stem = "" if obj == main.calibration.objective else f"_{obj.replace('-', '_')}"
        md += [_fig(rep, f"backtest_burden{stem}.png", plot_backtest(bt, "burden"), f"Backtest burden ({obj})"), ""]
        if not stem:
            md += [_fig(rep, "backtest_spending.png", plot_backtest(bt, "spending"), "Backtest spending"), ""]
    for obj, bt in backtests.items():
        losses = bt.table[bt.table["best_rmse"] != "model"]
        md += [f"Where the model loses (objective `{obj}`): "
               + (", ".join(f"{r.country} {r.variable} (best: {r.best_rmse})" for r in losses.itertuples())
                  or "nowhere") + "."]
        if obj != main.calibration.objective:
            c = bt.calibration.coefficients
            stem = f"calibration_{obj.replace('-', '_')}"
            rep.tables[stem] = coefficient_table(bt.calibration).reset_index(names="country")
            md[-1] += (f" Its coefficients (`{FIG_DIR}/{stem}.csv`) are no better identified: "
                       f"{int(c['at_bound'].sum())} of {len(c)} at a bound ("
                       + ", ".join(f"{r.param}={r.value:.3g}" for r in c[c["at_bound"]].itertuples()) + ").")
    md += ["", _growth_note(main.calibration), ""]
    return md


def _growth_note(cal) -> str:
    """The training-years GDP growth the model's spending forecasts carry, against the later WDI growth."""
    first, last = cal.train
    later = default_growth()
    growth = cal.stats["growth"]
    # the country whose training growth is furthest above its later growth, as the example
    iso = max(growth.index, key=lambda c: growth[c] - later.get(c, growth[c]))
    return ("Spending forecasts of the model also carry the training-years GDP growth (largest gap: "
            f"{NAMES[iso]} {growth[iso]:.1%} a year in {first - 1}-{last}, against {later[iso]:.1%} in the WDI "
            "mean of 2015-2024), which the naive spending forecasts do not.")


def _sensitivity_section(rep: Report, sa: Sensitivity) -> list[str]:
    exp, base = sa.experiment, sa.base
    summary = sa.summary()
    second = exp.second_order
    shocks = ("deterministic runs (no shocks)" if base["threat_noise"] == 0 and base["budget_noise"] == 0 else
              f"shocks: threat log-sd {base['threat_noise']:g}, budget sd {base['budget_noise']:.0%} of the burden")
    seeds = exp.seeds_record()
    run_seeds = (f"run seeds spawned from root seed {seeds['root']}" if "root" in seeds
                 else f"run seeds {seeds['list']}")
    resized = "" if sa.n == sa.declared_n else f" (the file declares N = {sa.declared_n}; reduced for quick mode)"
    subtitles = {o: f"mean {summary.loc[o, 'mean']:.3g}, sd {summary.loc[o, 'sd']:.2g} over the design points"
                 for o in sa.labels}
    title = (f"Sobol sensitivity indices: {exp.path.name}, N = {sa.n}, {sa.n_runs:,} runs\n"
             f"(bars: 95% bootstrap intervals, bootstrap seed {sa.seed + SALIB_SEED_OFFSET})")
    md = [
        "## 4. Sensitivity analysis (Sobol indices)",
        "",
        f"The project's declared experiment `experiments/{exp.path.name}` ({exp.description}), run as "
        f"`armsrace sweep` runs it and analysed as `armsrace plot` analyses it: Saltelli design, N = {sa.n}"
        f"{resized}, {sa.problem['num_vars']} parameters, "
        f"{'first-, second- and total-order' if second else 'first- and total-order'} indices, "
        f"{sa.n_points:,} design points × {exp.replicates} replicate(s) = {sa.n_runs:,} runs of the "
        f"`{exp.base_scenario}` scenario from {base['start_year']} to {base['until']}, {shocks}; design seed "
        f"{exp.design_seed}, {run_seeds}. Each design point's outcome is the mean of its replicates (the spiral "
        f"share: the share of its replicates classed spiral). Bars: 95% bootstrap confidence intervals (bootstrap "
        f"seed {sa.seed + SALIB_SEED_OFFSET}).",
        "",
        _fig(rep, "sensitivity.png", plot_indices(sa.indices, title, labels=sa.labels, subtitles=subtitles),
             "Sobol indices"),
        "",
        "Ranges: " + ", ".join(f"`{v.name}` [{v.low:g}, {v.high:g}]"
                               + ("" if v.distribution == "uniform" else f" ({v.distribution})")
                               for v in exp.varied) + ".",
        "",
    ]
    md += [md_table(sensitivity_rows(sa)), ""]
    if "hostility_scale" in sa.problem["names"]:
        md += ["Intercepts are anchored so that 2024 is a rest point under the *default* relations; a "
               "`hostility_scale` other than 1 therefore moves every country off that rest point at once, and its "
               "weight in regional spending growth measures this convention as much as a security dilemma.", ""]
    share = float(sa.outcomes["spiral_share"].mean())
    prk = float(sa.outcomes["spiral_prk_cap_share"].mean())
    if share > 0:
        md += [f"{share:.1%} of the runs spiral; in {prk / share:.0%} of them North Korea ends at its burden cap "
               f"({base['burden_cap_prk']:.0%} of GDP, an assumption like its threat response: there are no data "
               "to fit). Read the spiral-share indices as sensitivity of North Korea's assumed dynamics, not of the "
               "alliance's.", ""]
    return md


SENSITIVITY_COLUMNS = ("outcome", "mean (sd)", "largest ST", "next", "largest S2")
"""Columns of the report's table of Sobol indices."""


def sensitivity_rows(sa: Sensitivity) -> pd.DataFrame:
    """One row per outcome: its mean (sd) over the design points, the two largest total-order indices
    (± interval half-width, with S1 for the first) and, for second-order designs, the largest interaction."""
    summary = sa.summary()
    rows = []
    for name, label in sa.labels.items():
        d = sa.indices[sa.indices["outcome"] == name].sort_values("ST", ascending=False)
        spread = f"{summary.loc[name, 'mean']:.3g} ({summary.loc[name, 'sd']:.2g})"
        if d["ST"].isna().all():
            rows.append({"outcome": label, "mean (sd)": spread,
                         "largest ST": f"indices undefined: {d['undefined'].iloc[0]}", "next": "–", "largest S2": "–"})
            continue
        top, nxt = d.iloc[0], d.iloc[1]
        pair = "–"
        if sa.experiment.second_order:
            names = list(d["parameter"])
            s2 = d.set_index("parameter")[[f"S2_{p}" for p in names]].to_numpy()
            i, j = np.unravel_index(np.nanargmax(s2), s2.shape)
            conf = d.set_index("parameter")[f"S2_conf_{names[j]}"].iloc[i]
            pair = f"{names[i]} × {names[j]} {s2[i, j]:.2f} ± {conf:.2f}"
        rows.append({"outcome": label, "mean (sd)": spread,
                     "largest ST": f"{top['parameter']} ST {top['ST']:.2f} ± {top['ST_conf']:.2f}, S1 {top['S1']:.2f}",
                     "next": f"{nxt['parameter']} ST {nxt['ST']:.2f} ± {nxt['ST_conf']:.2f}", "largest S2": pair})
    return pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))


def _limits_section(main: Backtest) -> list[str]:
    h = history()
    chn = h[h["country"] == "CHN"]
    rus = h[h["country"] == "RUS"]
    growth = default_growth()
    return [
        "## 5. Assumptions and data limits",
        "",
        f"- **China's figures are SIPRI estimates**: {int(chn['estimate'].sum())} of {len(chn)} yearly burdens "
        f"are flagged as SIPRI's own estimates (all of them); Russia {int(rus['estimate'].sum())} of {len(rus)}.",
        "- **North Korea has no SIPRI series.** It starts from the WMEAT 2016 estimate "
        f"({PRK_BURDEN_ESTIMATE:.1%} of a US${PRK_GDP_ESTIMATE:g} bn GDP, the 2004-2014 average, sparse "
        "secondary reports), grows at an assumed "
        f"{PRK_GROWTH_ASSUMPTION:.0%} a year, is never fitted and never scored; its threat response is an assumption "
        "with no data behind it, and it drives the spiral share.",
        "- **Growth**: forward runs use the WDI mean real growth 2015-2024 ("
        + ", ".join(f"{c} {g:.1%}" for c, g in growth.items()) + "); backtests use the mean growth of "
        "SIPRI-implied GDP (spending ÷ share, CPI-deflated, not a national-accounts series) over the training years.",
        f"- **Capability** is a perpetual inventory of spending (depreciation {specs()['depreciation'].default:g} a "
        "year) with the pre-sample stock set to the first observed year's steady state (spending ÷ depreciation); "
        "it is not a count of forces, and only a theatre share of US and Russian capability bears on the Pacific "
        "(judgement, not data).",
        "- **Anchoring**: by default each intercept is set so that 2024 is an equilibrium under the default relations; "
        "scenario effects are therefore departures from a world at rest, not forecasts. The calibrated set turns "
        "anchoring off and uses the fitted intercepts.",
        "- **Relations are today's**: hostility weights, theatre shares, credibility and debt ratios (IMF 2024) are "
        "held at their 2024 values through the calibration history; the US 2% expectation is applied in every "
        "year. Pressure response and intercept are not separately identified, so the pressure response keeps its "
        "default and the intercept absorbs the rest" + _intercepts_at_zero(main.calibration) + ".",
        "- **Shocks**: the scenarios are deterministic; only the sensitivity analysis adds shocks, at assumed sizes.",
        "",
    ]


def _intercepts_at_zero(cal) -> str:
    """Which fitted intercepts sit at their lower bound (from the calibration), and for US allies why."""
    c = cal.coefficients
    low = c[(c["field"] == "baseline_burden") & c["at_bound"] & (c["value"] <= c["low"])]
    if low.empty:
        return " (no fitted intercept sits at its lower bound)"

    def names(isos) -> str:
        n = [NAMES[iso] for iso in isos]
        return n[0] if len(n) == 1 else ", ".join(n[:-1]) + " and " + n[-1]

    bound = " / ".join(dict.fromkeys(f"{v:g}" for v in low["low"]))
    allies = [iso for iso in low["country"] if iso in ALLIES]  # only US allies feel alliance pressure
    others = [iso for iso in low["country"] if iso not in ALLIES]
    one = len(allies) == 1
    parts = []
    if allies:
        parts.append(f"for {names(allies)} it is pushed to its lower bound {bound}: the default pressure response "
                     f"alone already puts {'its' if one else 'their'} desired burden above what "
                     f"{'it' if one else 'they'} spent in {cal.train[0]}-{cal.train[1]}")
    if others:
        single = len(others) == 1
        subject = f"{NAMES[others[0]]}'s intercept" if single else f"the intercepts of {names(others)}"
        parts.append(f"{subject} {'also ' if allies else ''}{'sits' if single else 'sit'} at the lower bound {bound}, "
                     f"though no alliance pressure acts on {'it' if single else 'them'}")
    return " (" + "; ".join(parts) + ")"


def write_report(out: Path, settings: Settings = Settings(), train_until: int = TRAIN_UNTIL) -> Report:
    """Build the report and write ``out/REPORT.md`` and ``out/report/`` atomically."""
    out = Path(out)
    with staged_output(out) as stage:
        rep = build_report(settings, train_until)
        figs = subfolder(stage, FIG_DIR)
        for name, fig in rep.figures.items():
            save_figure(fig, figs, Path(name).stem, (Path(name).suffix.lstrip("."),), dpi=110)
        for stem, df in rep.tables.items():
            write_csv(df, figs / f"{stem}.csv")
        write_json(metadata(settings=settings.__dict__, train_until=train_until, timings=rep.timings,
                            scenarios=list(SCENARIOS)), figs / "metadata.json")
        write_text(rep.markdown, stage / "REPORT.md")
    return rep


def report_links(markdown: str) -> list[str]:
    """Relative link targets in the Markdown (images and links), in order."""
    import re

    return [m for m in re.findall(r"\]\(([^)]+)\)", markdown) if "://" not in m]

