"""The model's equations: pure numpy functions over arrays with any leading batch shape.

This module is the only place the dynamics are written (docs/MODEL.md gives them as formulas).
Two drivers call it: the Mesa agents (:mod:`model.sim.agents`, one country at a time, for meaning
and the browser view) and the batch engine (thousands of runs at once, through :func:`simulate`).
Arrays hold countries on the last axis (``(..., N)``) and relations on the last two
(``(..., N, N)``, observer x source); global parameters arrive with a trailing axis of length 1
so that they broadcast against countries.

One step is one fiscal year; every country decides on last year's state of the others:

1. perception -- threat from the hostility-weighted *spending* of potential enemies in the
   theatre (``log`` model: ``log(1 + ...)``, after the demand-for-military-expenditure literature,
   Dunne, Perlo-Freeman & Smith 2008; ``linear`` model: Richardson's weighted rival burdens);
   support from credible allied spending (``log(1 + ...)``: the free-riding term of Olson &
   Zeckhauser 1966);
2. pressure -- the US demand above the historical 2% expectation;
3. decision -- partial adjustment of the burden toward a desired level that rises with threat,
   support and pressure, within floors, caps and the largest yearly change;
4. economy -- GDP grows, spending = burden x GDP, capability by perpetual inventory.

Units: burden is a share of GDP (0.02 = 2%); spending, GDP and capability are US$ bn at constant
2023 prices; threat is US$ bn of hostility-weighted rival spending (log model; the decision reads
its logarithm) or a weighted sum of rival burdens (linear model); pressure is in burden points.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

REFERENCE_DEMAND = 0.02
"""The burden the US expects of allies before any new demand (NATO's 2014 Wales guideline); the
historical expectation, absorbed in each country's estimated intercept, so only a demand above it
adds pressure (docs/MODEL.md, "Pressure"). The default of the ``us_demand`` parameter."""


def weighted_sum(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum over sources of ``weights * values``.

    Args:
        weights: relation weights, ``(..., M, N)`` for M observers (a whole matrix, or one
            observer's row as ``(..., 1, N)``).
        values: one value per source country, ``(..., N)``.

    Returns:
        ``(..., M)``: for each observer, sum_j weights[i, j] * values[j].
    """
    return (weights * values[..., None, :]).sum(axis=-1)


# --- inputs and the year schedule ------------------------------------------------------------------

@dataclass
class Inputs:
    """Everything the dynamics read: arrays with leading batch shape ``B`` (:func:`model.sim.inputs.build_inputs`).

    Per-country arrays are ``B + (N,)``, relations ``(N, N)`` or ``B + (N, N)``, globals ``B + (1,)``.
    Units as in the parameter declarations (:mod:`model.sim.params`).
    """

    countries: tuple[str, ...]
    start_year: int
    until: int
    linear: bool
    batch_shape: tuple[int, ...]
    # per country: the decision rule
    speed: np.ndarray
    sensitivity: np.ndarray
    ally_response: np.ndarray
    response: np.ndarray
    saturation: np.ndarray
    fiscal_drag: np.ndarray
    debt: np.ndarray
    backlash_gain: np.ndarray
    shifting: np.ndarray
    exo_threat: np.ndarray
    # per country: structure and limits
    theatre_share: np.ndarray
    burden_floor: np.ndarray
    burden_cap: np.ndarray
    max_change: np.ndarray
    floor_target: np.ndarray
    floor_year: np.ndarray
    growth: np.ndarray
    # globals
    us_demand: np.ndarray
    us_demand_start: np.ndarray
    us_demand_year: np.ndarray
    insistence: np.ndarray
    credibility: np.ndarray
    credibility_shock_year: np.ndarray
    credibility_after: np.ndarray
    partnership: np.ndarray
    hostility_scale: np.ndarray
    counterattack: np.ndarray
    counterattack_year: np.ndarray
    counterattack_boost: np.ndarray
    nato_europe_target: np.ndarray
    nato_europe_year: np.ndarray
    nato_europe_start: np.ndarray
    threat_noise: np.ndarray
    budget_noise: np.ndarray
    depreciation: np.ndarray
    backlash_decay: np.ndarray
    crowding_out: np.ndarray
    # relations
    hostility: np.ndarray
    is_ally: np.ndarray
    is_japan: np.ndarray
    alliance: np.ndarray
    partners: np.ndarray
    lead: np.ndarray
    # start state and what is derived from it
    burden0: np.ndarray
    gdp0: np.ndarray
    capability0: np.ndarray
    intercept: np.ndarray
    compliance: np.ndarray
    threat_ref: np.ndarray

    @property
    def years(self) -> range:
        """The simulated years (the start year is the observed state)."""
        return range(self.start_year + 1, self.until + 1)

    def replace(self, **changes) -> Inputs:
        return replace(self, **changes)


class Schedule(NamedTuple):
    """Values that depend on the year, each broadcastable against ``(..., N)`` (or ``(..., N, N)``)."""

    demand: np.ndarray
    """Burden the US demands of its allies (share of GDP), ``B + (1,)``."""
    credibility: np.ndarray
    """Credibility of US protection, ``B + (1,)``."""
    support: np.ndarray
    """Weights of friendly spending (observer x source), ``B + (N, N)``."""
    doctrine: np.ndarray
    """Multiplier on each country's spending as its rivals see it (Japan's strike doctrine), ``B + (N,)``."""
    floor: np.ndarray
    """Legislated burden floor (share of GDP, 0 = none), ``B + (N,)``."""
    exo: np.ndarray
    """Threat from outside the theatre (log points), ``B + (N,)``."""


def ramp(year: int, start: np.ndarray, end: np.ndarray, v0: np.ndarray, v1: np.ndarray) -> np.ndarray:
    """Linear path from ``v0`` (up to ``start``) to ``v1`` (from ``end`` on)."""
    span = np.maximum(end - start, 1)
    frac = np.clip((year - start) / span, 0.0, 1.0)
    frac = np.where(year >= end, 1.0, frac)
    return v0 + frac * (v1 - v0)


def us_demand(year: int, demand: np.ndarray, start: np.ndarray, full: np.ndarray) -> np.ndarray:
    """Burden the US demands of its allies in ``year``: the 2% reference ramping to ``demand``."""
    return ramp(year, start, full, REFERENCE_DEMAND, demand)


def credibility(year: int, level: np.ndarray, shock_year: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Credibility of US protection in ``year``; drops to ``after`` from ``shock_year`` (0: never)."""
    return np.where((shock_year > 0) & (year >= shock_year), after, level)


def legislated_floor(year: int, start_year: int, burden0: np.ndarray, target: np.ndarray,
                     target_year: np.ndarray) -> np.ndarray:
    """A legislated burden floor rising from the start burden to ``target`` (SIPRI basis) by ``target_year``.

    A zero target, or one below the start burden, sets no floor (returns 0).
    """
    path = ramp(year, start_year, target_year, burden0, target)
    return np.where(target > burden0, path, 0.0)


def exogenous_threat(year: int, weight: np.ndarray, target: np.ndarray, target_year: np.ndarray,
                     start: np.ndarray) -> np.ndarray:
    """Threat from outside the theatre (log points): ``weight`` x NATO Europe's relative burden rise since 2024."""
    path = ramp(year, 2024, target_year, start, target)
    return weight * (path / start - 1.0)


def support_weights(alliance: np.ndarray, is_ally: np.ndarray, lead: np.ndarray, partners: np.ndarray,
                    cred: np.ndarray, partnership: np.ndarray) -> np.ndarray:
    """Weights with which each observer counts each country's spending as support (observer x source).

    An ally counts US spending with the credibility of US protection; the US counts its allies'
    spending fully; the rivals count each other's with the partnership weight.

    Returns:
        ``B + (N, N)`` with a zero diagonal.
    """
    return (cred[..., None] * alliance * is_ally[..., :, None] + lead
            + partnership[..., None] * partners)


def schedule(x: Inputs, year: int) -> Schedule:
    """The year's schedule of ``x``: US demand, credibility and support, doctrine, floors, Europe."""
    demand = us_demand(year, x.us_demand, x.us_demand_start, x.us_demand_year)
    cred = credibility(year, x.credibility, x.credibility_shock_year, x.credibility_after)
    support = support_weights(x.alliance, x.is_ally, x.lead, x.partners, cred, x.partnership)
    active = x.counterattack * (year >= x.counterattack_year)
    doctrine = 1.0 + x.is_japan * active * x.counterattack_boost
    floor = legislated_floor(year, x.start_year, x.burden0, x.floor_target, x.floor_year)
    exo = exogenous_threat(year, x.exo_threat, x.nato_europe_target, x.nato_europe_year, x.nato_europe_start)
    return Schedule(demand, cred, support, doctrine, floor, exo)


# --- the four phases of a year -------------------------------------------------------------------

def hostile_quantity(hostility: np.ndarray, hostility_scale: np.ndarray, burden: np.ndarray,
                     spending: np.ndarray, theatre_share: np.ndarray, doctrine: np.ndarray,
                     linear: bool) -> np.ndarray:
    """What threatens each observer (phase 1): hostility-weighted rival spending in theatre.

    Log model: ``sum_j h_ij * theatre_j * doctrine_j * spending_j`` (US$ bn; a country's strike
    doctrine multiplies how its spending looks to its rivals). Linear (Richardson) model:
    ``sum_j h_ij * burden_j``. Both times ``hostility_scale``.

    Args:
        hostility: ``(..., M, N)`` hostility of each observer toward each source, in [0, 1].
        hostility_scale: ``(..., 1)``.
        burden, spending, theatre_share, doctrine: ``(..., N)`` per source.
        linear: the Richardson form.

    Returns:
        ``(..., M)``.
    """
    projected = burden if linear else theatre_share * doctrine * spending
    return hostility_scale * weighted_sum(hostility, projected)


def perceived_threat(hostile: np.ndarray, exo: np.ndarray, linear: bool) -> np.ndarray:
    """Threat as the decision reads it: ``log(1 + hostile) + exo`` (log model) or ``hostile + exo`` (linear).

    The 1 (US$ bn) keeps a country without rivals at zero threat; against rival spending of tens or
    hundreds of US$ bn it changes nothing.
    """
    if linear:
        return hostile + exo
    return np.log(1.0 + hostile) + exo


def threat_level(threat: np.ndarray, linear: bool) -> np.ndarray:
    """The reported threat (US$ bn of hostile spending in the log model; the linear threat unchanged)."""
    return threat if linear else np.exp(threat) - 1.0


def saturate(threat: np.ndarray, reference: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Threat that saturates around ``reference`` at ``scale`` (deterrence); ``scale`` 0: unchanged.

    ``reference + scale * tanh((threat - reference) / scale)``: equal to ``threat`` near the
    reference, never more than ``scale`` above (or below) it, and increasing in ``threat``.
    """
    safe = np.where(scale > 0, scale, 1.0)
    bounded = reference + safe * _tanh((threat - reference) / safe)
    return np.where(scale > 0, bounded, threat)


def _tanh(u: np.ndarray) -> np.ndarray:
    """tanh through exp: numpy's SIMD tanh/log1p/expm1 may differ in the last bit between contiguous
    and strided arrays, which would break the bit-for-bit agreement of the two drivers; exp and log do not."""
    with np.errstate(over="ignore"):
        return 1.0 - 2.0 / (np.exp(2.0 * u) + 1.0)


def allied_support(weights: np.ndarray, burden: np.ndarray, spending: np.ndarray,
                   theatre_share: np.ndarray, linear: bool) -> np.ndarray:
    """Support each observer counts on (phase 1): ``log(1 + sum_j w_ij theatre_j spending_j)``.

    ``weights`` are :func:`support_weights` (``(..., M, N)``); the 1 (US$ bn) keeps the term at 0
    for a country without friends. Linear model: ``sum_j w_ij burden_j``.
    """
    if linear:
        return weighted_sum(weights, burden)
    return np.log(1.0 + weighted_sum(weights, theatre_share * spending))


def alliance_pressure(is_ally: np.ndarray, insistence: np.ndarray, demand: np.ndarray,
                      burden: np.ndarray) -> np.ndarray:
    """Pressure each ally feels (phase 2): insistence times the US demand above both its burden and
    the historical 2% expectation (what the decision responds to; see :func:`desired_burden`)."""
    return is_ally * insistence * np.maximum(demand - np.maximum(burden, REFERENCE_DEMAND), 0.0)


def compliance(is_ally: np.ndarray, response: np.ndarray, insistence: np.ndarray) -> np.ndarray:
    """Share of a new US demand that an ally's desired burden meets.

    With pressure response ``r`` (desired burden per unit of felt pressure) and insistence ``k``,
    the burden at which felt pressure ``k (D - b)`` and the response balance, ``b = own + r k (D - b)``,
    is ``own + c (D - own)`` with ``c = r k / (1 + r k)``. Aiming at that balance directly, rather
    than reacting to this year's shortfall, keeps a strongly pressed ally from overshooting.
    """
    rk = response * insistence
    return is_ally * rk / (1.0 + rk)


def allied_added_burden(lead: np.ndarray, burden: np.ndarray, burden0: np.ndarray, gdp: np.ndarray,
                        own_gdp: np.ndarray) -> np.ndarray:
    """Allies' added burden since the start, valued at their current GDP, as a share of the leader's
    GDP (burden shifting).

    Args:
        lead: (..., M, N) 1 where observer i leads an alliance with j.
    """
    return weighted_sum(lead, np.maximum(burden - burden0, 0.0) * gdp) / own_gdp


def desired_burden(intercept: np.ndarray, sensitivity: np.ndarray, threat: np.ndarray,
                   ally_response: np.ndarray, support: np.ndarray, compliance: np.ndarray,
                   demand: np.ndarray, shifting: np.ndarray, allied_added: np.ndarray) -> np.ndarray:
    """Burden each country would like (phase 3).

    Its own preference is ``intercept + sensitivity * threat + ally_response * support`` (less,
    for the leader, ``shifting`` x the allies' added burden); an ally's desire then meets a share
    ``compliance`` of the US demand above both its preference and the historical 2% expectation
    (which the estimated intercepts already contain).
    """
    own = intercept + sensitivity * threat + ally_response * support - shifting * allied_added
    return own + compliance * np.maximum(demand - np.maximum(own, REFERENCE_DEMAND), 0.0)


def decide(burden: np.ndarray, desired: np.ndarray, speed: np.ndarray, fiscal_drag: np.ndarray,
           debt: np.ndarray, backlash: np.ndarray, max_change: np.ndarray, lower: np.ndarray,
           cap: np.ndarray, shock: np.ndarray) -> np.ndarray:
    """Next year's burden (phase 3, decision): partial adjustment toward ``desired``.

    The burden moves toward ``desired`` at ``speed``; increases are slowed by fiscal strain
    (``1 + fiscal_drag * debt``) and backlash; the change (plus ``shock``) is bounded by
    ``max_change``; the result is held within ``[lower, cap]``, where ``lower`` includes any
    legislated floor (binding, even faster than ``max_change``).
    """
    gap = desired - burden
    restraint = np.where(gap > 0, 1.0 + fiscal_drag * debt + backlash, 1.0)
    change = np.clip(speed * gap / restraint + shock, -max_change, max_change)
    return np.minimum(np.maximum(burden + change, lower), cap)


def update_backlash(backlash: np.ndarray, old_burden: np.ndarray, new_burden: np.ndarray,
                    gain: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """Domestic backlash: fades at ``decay`` and grows with each percentage point of increase."""
    return (1.0 - decay) * backlash + gain * 100.0 * np.maximum(new_burden - old_burden, 0.0)


def grow_gdp(gdp: np.ndarray, growth: np.ndarray, crowding_out: np.ndarray, burden: np.ndarray,
             burden0: np.ndarray) -> np.ndarray:
    """GDP after a year of growth (phase 4).

    ``growth`` is observed growth, which already reflects start-year burdens; crowding out
    charges only the burden added since the start (and credits a burden cut: a peace dividend).
    """
    return gdp * (1.0 + growth - crowding_out * (burden - burden0))


def accumulate(capability: np.ndarray, spending: np.ndarray, depreciation: np.ndarray) -> np.ndarray:
    """Capability stock by perpetual inventory: depreciate, then add this year's spending."""
    return (1.0 - depreciation) * capability + spending


def threat_shock(sd: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Lognormal factor on the hostile quantity (``exp(sd z)``)."""
    return np.exp(sd * z)


def budget_shock(sd: np.ndarray, burden: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Additive shock on the yearly burden change, proportional to the current burden."""
    return sd * burden * z


# --- a whole year, and the one simulation loop ----------------------------------------------------

class State(NamedTuple):
    """Model state, each field ``(..., N)``; the per agent-year variables (:data:`model.sim.units.AGENT_VARS`)."""

    burden: np.ndarray
    spending: np.ndarray
    gdp: np.ndarray
    capability: np.ndarray
    threat: np.ndarray
    pressure: np.ndarray
    backlash: np.ndarray


class Perception(NamedTuple):
    """What an observer perceives in a year (phase 1): decision threat (after saturation), reported threat, support."""

    threat: np.ndarray
    level: np.ndarray
    support: np.ndarray


def perceive(x: Inputs, sched: Schedule, state: State, rows: slice = slice(None),
             z_threat: np.ndarray | None = None) -> Perception:
    """Phase 1 for the observers in ``rows`` (all by default; one agent's row for the Mesa driver).

    Args:
        x, sched: inputs and the year's schedule.
        state: last year's state of every country.
        rows: which observers (a slice of the country axis).
        z_threat: standard normal draws of the threat shock for those observers, or None.
    """
    hostile = hostile_quantity(x.hostility[..., rows, :], x.hostility_scale, state.burden, state.spending,
                               x.theatre_share, sched.doctrine, x.linear)
    if z_threat is not None:
        hostile = hostile * threat_shock(x.threat_noise, z_threat)
    threat = perceived_threat(hostile, sched.exo[..., rows], x.linear)
    support = allied_support(sched.support[..., rows, :], state.burden, state.spending, x.theatre_share, x.linear)
    decision = saturate(threat, x.threat_ref[..., rows], x.saturation[..., rows])
    return Perception(decision, threat_level(threat, x.linear), support)


def choose(x: Inputs, sched: Schedule, state: State, seen: Perception, rows: slice = slice(None),
           z_budget: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Phases 2-3 for the observers in ``rows``: (pressure, new burden, new backlash)."""
    def own(a: np.ndarray) -> np.ndarray:
        return a[..., rows]

    burden = own(state.burden)
    pressure = alliance_pressure(own(x.is_ally), x.insistence, sched.demand, burden)
    added = allied_added_burden(x.lead[..., rows, :], state.burden, x.burden0, state.gdp, own(state.gdp))
    desired = desired_burden(own(x.intercept), own(x.sensitivity), seen.threat, own(x.ally_response), seen.support,
                             own(x.compliance), sched.demand, own(x.shifting), added)
    shock = 0.0 if z_budget is None else budget_shock(x.budget_noise, burden, z_budget)
    lower = np.maximum(own(x.burden_floor), own(sched.floor))
    new = decide(burden, desired, own(x.speed), own(x.fiscal_drag), own(x.debt), own(state.backlash),
                 own(x.max_change), lower, own(x.burden_cap), shock)
    backlash = update_backlash(own(state.backlash), burden, new, own(x.backlash_gain), x.backlash_decay)
    return pressure, new, backlash


def grow(x: Inputs, state: State, burden: np.ndarray, rows: slice = slice(None)) -> tuple[np.ndarray, ...]:
    """Phase 4 for ``rows``: (gdp, spending, capability) after a year with the new ``burden``."""
    gdp = grow_gdp(state.gdp[..., rows], x.growth[..., rows], x.crowding_out, burden, x.burden0[..., rows])
    spending = burden * gdp
    capability = accumulate(state.capability[..., rows], spending, x.depreciation)
    return gdp, spending, capability


def step(state: State, x: Inputs, year: int, noise: np.ndarray | None = None) -> State:
    """Advance every run in the batch by one year (every country decides on last year's state).

    Args:
        state: state at the end of ``year - 1``, fields ``(..., N)``.
        x: inputs with the same leading shape.
        year: the year being simulated.
        noise: ``(..., 2, N)`` standard normal draws for this year (threat, budget) or None.

    Returns:
        The state at the end of ``year``.
    """
    sched = schedule(x, year)
    z_threat, z_budget = (None, None) if noise is None else (noise[..., 0, :], noise[..., 1, :])
    seen = perceive(x, sched, state, z_threat=z_threat)
    pressure, burden, backlash = choose(x, sched, state, seen, z_budget=z_budget)
    gdp, spending, capability = grow(x, state, burden)
    return State(burden, spending, gdp, capability, seen.level, pressure, backlash)


def start_state(x: Inputs) -> State:
    """The observed start-year state, with the start-year threat and pressure (no shock)."""
    sched = schedule(x, x.start_year)
    spending = x.burden0 * x.gdp0
    base = State(x.burden0, spending, x.gdp0, x.capability0, np.zeros_like(x.burden0),
                 np.zeros_like(x.burden0), np.zeros_like(x.burden0))
    seen = perceive(x, sched, base)
    pressure = alliance_pressure(x.is_ally, x.insistence, sched.demand, x.burden0)
    return base._replace(threat=np.broadcast_to(seen.level, x.burden0.shape).copy(), pressure=pressure)


def simulate(x: Inputs, noise: np.ndarray | None = None, start: State | None = None) -> dict[str, np.ndarray]:
    """The one simulation loop: the start state, then :func:`step` for every year of ``x``.

    Args:
        x: inputs (any batch shape ``B``).
        noise: ``B + (T, 2, N)`` standard normal draws (threat, budget), or None for no shocks.
        start: the state to start from (default :func:`start_state`).

    Returns:
        Each :class:`State` field as ``B + (T + 1, N)``, from the start year to ``x.until``.
    """
    s = start_state(x) if start is None else start
    states = [s]
    for k, year in enumerate(x.years):
        s = step(s, x, year, None if noise is None else noise[..., k, :, :])
        states.append(s)
    return {f: np.stack(np.broadcast_arrays(*(getattr(st, f) for st in states)), axis=-2) for f in State._fields}
