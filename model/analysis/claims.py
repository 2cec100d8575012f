"""The article's claims as computed comparisons, each labelled *built in* or *emergent*, with intervals.

A claim compares a scenario with the baseline (or a lever with its counterfactual). Each is
computed twice:

* at the point estimate (deterministic runs, seed 0): the number the verdict reads;
* under :data:`DRAWS` draws of the estimated coefficients and of North Korea's start
  (``coefficient_draws = true``, ``prk_draws = true``, seeds ``0..DRAWS-1``, no yearly shocks): the
  scenario and the baseline share each draw, so the difference is paired, and its 5-95% range is the
  claim's interval from parameter and input uncertainty (docs/MODEL.md, "Parameter uncertainty").

*Built in* means the direction follows from a sign or a set parameter of the rule (hostility
weights, the doctrine multiplier, a prior's sign, an estimated coefficient's sign); the model then
only supplies a magnitude. *Emergent* means it arises from the interaction of countries (one's
response feeding another's threat), not from any single parameter. The verdict reads the point
estimate; the interval says whether parameter uncertainty could reverse it (where the sign a
built-in claim follows is itself estimated and its interval includes zero, the claim's can too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.batch.engine import run_batch
from model.sim.params import ALLIES, Params
from model.sim.scenarios import load_scenario

DRAWS = 200
"""Coefficient draws per scenario for the intervals."""
YEAR = 2040
EFFECT = 1e-4
"""Smallest burden difference (share of GDP: 0.01 pp) counted as an effect."""
REL_EFFECT = 1e-3
"""Smallest relative difference of threat or spending (0.1%) counted as an effect."""
SCENARIOS = ("baseline", "us_demand_3_5", "nato_precedent_5", "counterattack_codified", "credibility_shock",
             "restraint")


@dataclass(frozen=True)
class Claim:
    """One claim: what is compared, how it is measured, and why its direction is built in or emergent."""

    claim: str
    scenario: str
    metric: str
    label: str
    why: str
    measure: Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]
    """(scenario agents, baseline agents) -> the difference per run (the claim holds if > 0)."""
    relative: bool = False


def _value(agents: pd.DataFrame, iso: str, var: str, year: int = YEAR) -> np.ndarray:
    rows = agents[(agents["country"] == iso) & (agents["year"] == year)].sort_values("run")
    return rows[var].to_numpy()


def _allies(agents: pd.DataFrame, var: str, year: int = YEAR) -> np.ndarray:
    rows = agents[agents["country"].isin(ALLIES) & (agents["year"] == year)]
    return rows.groupby("run")[var].sum().sort_index().to_numpy()


def _diff(iso: str, var: str) -> Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]:
    return lambda s, b: _value(s, iso, var) - _value(b, iso, var)


def _rel(iso: str, var: str) -> Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]:
    return lambda s, b: _value(s, iso, var) / _value(b, iso, var) - 1


CLAIMS: tuple[Claim, ...] = (
    Claim("US pressure for 3.5% lifts Japan above its current path", "us_demand_3_5", "Japan's burden, pp of GDP",
          "built in", "an ally meets a share of any US demand above 2% (the pressure response, a prior)",
          _diff("JPN", "burden")),
    Claim("An allied build-up raises China's perceived threat", "nato_precedent_5", "China's threat, relative",
          "built in", "allies' spending enters China's threat through positive hostility weights",
          _rel("CHN", "threat"), relative=True),
    Claim("... and China's spending", "nato_precedent_5", "China's spending, relative",
          "built in", "through the estimated threat sensitivity, whose interval includes 0",
          _rel("CHN", "spending"), relative=True),
    Claim("An allied build-up lets the US ease its own effort", "nato_precedent_5",
          "US burden eased, pp of GDP",
          "built in", "burden shifting (a prior) and the estimated free riding on allies' spending",
          lambda s, b: _value(b, "USA", "burden") - _value(s, "USA", "burden")),
    Claim("Japan's strike doctrine raises China's perceived threat", "counterattack_codified",
          "China's threat, relative", "built in", "the doctrine multiplies Japan's spending as China sees it",
          _rel("CHN", "threat"), relative=True),
    Claim("Doubts about US protection raise Japan's own effort", "credibility_shock", "Japan's burden, pp of GDP",
          "built in", "the estimated free-riding coefficient is negative (its interval includes 0)",
          _diff("JPN", "burden")),
    Claim("Restraint: lower hostility and no pressure lower regional spending", "restraint",
          "regional spending, relative reduction", "built in",
          "lower hostility weights lower every threat; the start is the rest point",
          lambda s, b: 1 - (s[s.year == YEAR].groupby("run")["spending"].sum().sort_index().to_numpy()
                            / b[b.year == YEAR].groupby("run")["spending"].sum().sort_index().to_numpy()),
          relative=True),
    Claim("An allied build-up makes the rivals arm and the allies feel less secure in turn", "nato_precedent_5",
          "allies' threat, relative, after the rivals respond", "emergent",
          "allies' spending raises rivals' threat and spending, which raises the allies' threat",
          lambda s, b: _allies(s, "threat") / _allies(b, "threat") - 1, relative=True),
)


def _runs(params: Params, seeds: np.ndarray) -> pd.DataFrame:
    _, agents = run_batch(params, {}, seeds, variables=("burden", "spending", "threat"))
    return agents


def check_claims(draws: int = DRAWS, scenarios: tuple[str, ...] = SCENARIOS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every claim at the point estimate and under coefficient draws.

    Returns:
        ``(claims, draws)``: one row per claim (``claim, comparison, metric, label, why, point,
        median, p05, p95, share_positive, verdict``; burden differences in pp, relative ones in %),
        and the per-draw differences (``claim, run, value``).
    """
    point = {s: _runs(load_scenario(s).params, np.array([0])) for s in scenarios}
    seeds = np.arange(draws)
    drawn = {s: _runs(load_scenario(s).params.replace(coefficient_draws=True, prk_draws=True), seeds)
             for s in scenarios}
    rows, per_draw = [], []
    for c in CLAIMS:
        scale = 100.0
        p = float(c.measure(point[c.scenario], point["baseline"])[0]) * scale
        d = c.measure(drawn[c.scenario], drawn["baseline"]) * scale
        threshold = (REL_EFFECT if c.relative else EFFECT) * scale
        verdict = "reproduced" if p > threshold else "not reproduced"
        rows.append({"claim": c.claim, "comparison": f"{c.scenario} vs baseline, {YEAR}", "metric": c.metric,
                     "label": c.label, "why": c.why, "point": p, "median": float(np.median(d)),
                     "p05": float(np.quantile(d, 0.05)), "p95": float(np.quantile(d, 0.95)),
                     "share_positive": float(np.mean(d > threshold)), "verdict": verdict})
        per_draw += [{"claim": c.claim, "run": i, "value": float(v)} for i, v in enumerate(d)]
    out = pd.DataFrame(rows)
    out.insert(0, "#", np.arange(1, len(out) + 1))
    return out, pd.DataFrame(per_draw)
