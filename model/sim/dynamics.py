"""The model's equations: pure numpy functions over arrays with any leading batch shape.

This module is the only place the dynamics are written. Two drivers call it: the Mesa agents
(:mod:`model.sim.agents`, one country at a time, for meaning and the browser view) and the batch
engine (thousands of runs at once, via :func:`step`). Arrays hold countries on the last axis
(``(..., N)``) and relations on the last two (``(..., N, N)``, observer x source); global
parameters arrive with a trailing axis of length 1 so that they broadcast against countries.

One step is one fiscal year (MODEL.md): perception, pressure, decision, economy. Units: burden is
a share of GDP (0.02 = 2%), spending, GDP and capability are US$ bn at constant 2023 prices,
threat is dimensionless (hostile over friendly capability in the ``ratio`` model; weighted rival
burdens in the ``linear`` Richardson model), pressure is in burden points (share of GDP).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


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


# --- schedules ---------------------------------------------------------------------------------

def ramp(year: int, start: np.ndarray, end: np.ndarray, v0: np.ndarray, v1: np.ndarray) -> np.ndarray:
    """Linear path from ``v0`` (up to ``start``) to ``v1`` (from ``end`` on)."""
    span = np.maximum(end - start, 1)
    frac = np.clip((year - start) / span, 0.0, 1.0)
    frac = np.where(year >= end, 1.0, frac)
    return v0 + frac * (v1 - v0)


def us_demand(year: int, demand: np.ndarray, start: np.ndarray, full: np.ndarray,
              reference: float) -> np.ndarray:
    """Burden the US demands of its allies in ``year``: ``reference`` ramping to ``demand``."""
    return ramp(year, start, full, reference, demand)


def credibility(year: int, level: np.ndarray, shock_year: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Credibility of US protection in ``year``; drops to ``after`` from ``shock_year`` (0: never)."""
    return np.where((shock_year > 0) & (year >= shock_year), after, level)


def legislated_floor(year: int, start_year: int, burden0: np.ndarray, target: np.ndarray,
                     target_year: np.ndarray) -> np.ndarray:
    """A legislated burden floor rising from the start burden to ``target`` by ``target_year``.

    A zero target, or one below the start burden, sets no floor (returns 0).
    """
    path = ramp(year, start_year, target_year, burden0, target)
    return np.where(target > burden0, path, 0.0)


def exogenous_threat(year: int, weight: np.ndarray, target: np.ndarray, target_year: np.ndarray,
                     start: np.ndarray) -> np.ndarray:
    """Threat from outside the theatre: ``weight`` times NATO Europe's burden path relative to 2024."""
    path = ramp(year, 2024, target_year, start, target)
    return weight * path / start


def support_matrix(alliance: np.ndarray, partners: np.ndarray, cred: np.ndarray,
                   partnership: np.ndarray) -> np.ndarray:
    """Weights with which each observer counts each country's capability on its side.

    Args:
        alliance: (N, N) 0/1, US alliance ties (symmetric).
        partners: (N, N) 0/1, partnership among the rivals (symmetric).
        cred: (..., 1) credibility of US protection.
        partnership: (..., 1) partnership weight.

    Returns:
        (..., N, N) with ones on the diagonal (own capability counts fully).
    """
    n = alliance.shape[-1]
    return np.eye(n) + cred[..., None] * alliance + partnership[..., None] * partners


# --- the four phases of a year -------------------------------------------------------------------

def projections(burden: np.ndarray, capability: np.ndarray, theatre_share: np.ndarray,
                doctrine: np.ndarray, linear: bool) -> tuple[np.ndarray, np.ndarray]:
    """What each country projects: (as a threat to others, as support to friends), ``(..., N)`` each.

    Ratio model: capability in theatre, the threatening side multiplied by the doctrine factor.
    Linear (Richardson) model: the burden itself, on both sides.
    """
    if linear:
        return burden, burden
    friendly = theatre_share * capability
    return doctrine * friendly, friendly


def perceived_threat(hostility: np.ndarray, support: np.ndarray, hostile_projection: np.ndarray,
                     friendly_projection: np.ndarray, hostility_scale: np.ndarray, exo: np.ndarray,
                     linear: bool) -> np.ndarray:
    """Threat perceived by each observer (phase 1, perception).

    ``ratio`` model: hostile capability weighed by hostility over own plus credible allied
    capability, plus exogenous threat. ``linear`` (Richardson) model: hostility-weighted sum of
    the sources' projections (their burdens), plus exogenous threat.

    Args:
        hostility: (..., M, N) hostility of each observer toward each source, in [0, 1].
        support: (..., M, N) weights of friendly capability (see :func:`support_matrix`).
        hostile_projection: (..., N) capability as it threatens others (theatre share x doctrine
            multiplier x capability), or burdens in the linear model.
        friendly_projection: (..., N) capability in theatre (theatre share x capability).
        hostility_scale: (..., 1) multiplier on hostility.
        exo: (..., M) exogenous threat.
        linear: use the linear (Richardson) form.

    Returns:
        (..., M) perceived threat.
    """
    hostile = hostility_scale * weighted_sum(hostility, hostile_projection)
    if linear:
        return hostile + exo
    return hostile / weighted_sum(support, friendly_projection) + exo


def alliance_pressure(is_ally: np.ndarray, insistence: np.ndarray, demand: np.ndarray,
                      burden: np.ndarray) -> np.ndarray:
    """Pressure each ally feels (phase 2): insistence times the shortfall of its burden from the demand."""
    return is_ally * insistence * np.maximum(demand - burden, 0.0)


def compliance(is_ally: np.ndarray, response: np.ndarray, insistence: np.ndarray) -> np.ndarray:
    """Share of the gap between the US demand and its own preference that an ally's desire closes.

    With pressure response ``r`` (desired burden per unit of felt pressure) and insistence ``k``,
    the burden at which felt pressure ``k (D - b)`` and the response balance, ``b = own + r k (D - b)``,
    is ``own + c (D - own)`` with ``c = r k / (1 + r k)``. Aiming at that balance directly, rather
    than reacting to this year's shortfall, keeps a strongly pressed ally from overshooting and
    oscillating around it.
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


def desired_burden(baseline: np.ndarray, sensitivity: np.ndarray, threat: np.ndarray,
                   compliance: np.ndarray, demand: np.ndarray, shifting: np.ndarray,
                   allied_added: np.ndarray) -> np.ndarray:
    """Burden each country would like (phase 3).

    Its own preference rises with threat (and, for the leader, falls as allies add burden); an
    ally's desire then moves a share ``compliance`` of the way from that preference up to the US
    demand (see :func:`compliance`). Never below its own preference.
    """
    own = baseline + sensitivity * threat - shifting * allied_added
    return own + compliance * np.maximum(demand - own, 0.0)


def decide(burden: np.ndarray, desired: np.ndarray, speed: np.ndarray, fiscal_drag: np.ndarray,
           debt: np.ndarray, backlash: np.ndarray, max_change: np.ndarray, lower: np.ndarray,
           cap: np.ndarray, shock: np.ndarray) -> np.ndarray:
    """Next year's burden (phase 3, decision).

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


# --- a whole year for whole arrays (the batch engine's entry point) ------------------------------

class State(NamedTuple):
    """Model state, each field ``(..., N)``."""

    burden: np.ndarray
    gdp: np.ndarray
    spending: np.ndarray
    capability: np.ndarray
    threat: np.ndarray
    pressure: np.ndarray
    backlash: np.ndarray


def step(state: State, x, year: int, noise: np.ndarray | None) -> State:
    """Advance every run in the batch by one year.

    Args:
        state: current state, fields ``(..., N)``.
        x: :class:`model.sim.inputs.Inputs` with the same leading shape.
        year: the year being simulated.
        noise: ``(..., 2, N)`` standard normal draws for this year (threat, budget) or None.

    Returns:
        The state at the end of ``year``.
    """
    sched = x.schedule(year)
    hostile, friendly = projections(state.burden, state.capability, x.theatre_share, sched.doctrine,
                                    x.linear)
    threat = perceived_threat(x.hostility, sched.support, hostile, friendly, x.hostility_scale,
                              sched.exo, x.linear)
    threat_shock, budget_shock = _shocks(x, state.burden, noise)
    threat = threat * threat_shock
    pressure = alliance_pressure(x.is_ally, x.insistence, sched.demand, state.burden)
    added = allied_added_burden(x.lead, state.burden, x.burden0, state.gdp, state.gdp)
    desired = desired_burden(sched.baseline, x.sensitivity, threat, x.compliance, sched.demand,
                             x.shifting, added)
    burden = decide(state.burden, desired, x.speed, x.fiscal_drag, x.debt, state.backlash,
                    x.max_change, np.maximum(x.burden_floor, sched.floor), x.burden_cap, budget_shock)
    backlash = update_backlash(state.backlash, state.burden, burden, x.backlash_gain, x.backlash_decay)
    gdp = grow_gdp(state.gdp, x.growth, x.crowding_out, burden, x.burden0)
    spending = burden * gdp
    capability = accumulate(state.capability, spending, x.depreciation)
    return State(burden, gdp, spending, capability, threat, pressure, backlash)


def _shocks(x, burden: np.ndarray, noise: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicative threat shock and additive budget shock from standard normal draws."""
    if noise is None:
        return np.ones_like(burden), np.zeros_like(burden)
    return threat_shock(x.threat_noise, noise[..., 0, :]), budget_shock(x.budget_noise, burden, noise[..., 1, :])


def threat_shock(sd: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Lognormal factor on perceived threat."""
    return np.exp(sd * z)


def budget_shock(sd: np.ndarray, burden: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Additive shock on the yearly burden change, proportional to the current burden."""
    return sd * burden * z
