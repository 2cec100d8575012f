"""Parameters, relations and the observed start state turned into the arrays the dynamics read.

Both drivers build their inputs here, so a Mesa run and a batch run of the same parameter set
start from identical arrays: :func:`build_inputs` takes one base :class:`~model.sim.params.Params` and,
for a batch, a mapping of varied parameter names to value arrays of shape ``(R,)``.

Anchoring (``anchor = true``, the default): each country's intercept is set so that its observed
start-year burden is exactly its desired burden under the *default* relations (hostility,
credibility, partnership, theatre shares, no doctrine) and the reference US demand of 2%. A
scenario that changes relations or demand therefore moves countries away from the observed state
at once, while the default scenario starts at rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import numpy as np

from model.errors import ParameterError
from model.sim import dynamics
from model.sim.data import default_growth, initial_capability, observed
from model.sim.params import (
    ALLIES,
    GLOBAL_SPECS,
    LEADER,
    REFERENCE_DEMAND,
    RIVALS,
    Params,
    country_param,
    hostility_param,
    specs,
)

STRUCTURAL = ("countries", "start_year", "until", "threat_model", "anchor")
"""Parameters that must be the same for every run of a batch (they set array shapes or code paths)."""
GLOBALS = [s.name for s in GLOBAL_SPECS if s.name not in STRUCTURAL]


class Schedule(NamedTuple):
    """Values that depend on the year, each broadcastable against ``(..., N)``."""

    demand: np.ndarray
    baseline: np.ndarray
    support: np.ndarray
    doctrine: np.ndarray
    floor: np.ndarray
    exo: np.ndarray
    credibility: np.ndarray


@dataclass
class Inputs:
    """Everything :func:`model.sim.dynamics.step` reads, arrays with leading batch shape ``B``.

    Per-country arrays are ``B + (N,)``, relations ``B + (N, N)``, globals ``B + (1,)``.
    """

    countries: tuple[str, ...]
    start_year: int
    until: int
    linear: bool
    # per country
    sensitivity: np.ndarray
    speed: np.ndarray
    response: np.ndarray
    fiscal_drag: np.ndarray
    debt: np.ndarray
    backlash_gain: np.ndarray
    theatre_share: np.ndarray
    burden_floor: np.ndarray
    burden_cap: np.ndarray
    max_change: np.ndarray
    shifting: np.ndarray
    floor_target: np.ndarray
    floor_year: np.ndarray
    exo_threat: np.ndarray
    drift: np.ndarray
    growth: np.ndarray
    # globals
    g: dict[str, np.ndarray]
    # relations
    hostility: np.ndarray
    is_ally: np.ndarray
    is_japan: np.ndarray
    alliance: np.ndarray
    partners: np.ndarray
    lead: np.ndarray
    # start state and intercept
    burden0: np.ndarray
    gdp0: np.ndarray
    capability0: np.ndarray
    intercept: np.ndarray
    compliance: np.ndarray | None = None
    batch_shape: tuple[int, ...] = ()

    def __getattr__(self, name: str) -> Any:  # globals: x.insistence, x.depreciation, ...
        g = self.__dict__.get("g")
        if g is not None and name in g:
            return g[name]
        raise AttributeError(name)

    @property
    def insistence(self) -> np.ndarray:
        return self.g["us_insistence"]

    @property
    def years(self) -> range:
        return range(self.start_year + 1, self.until + 1)

    def schedule(self, year: int) -> Schedule:
        g = self.g
        demand = dynamics.us_demand(year, g["us_demand"], g["us_demand_start"], g["us_demand_year"],
                                    REFERENCE_DEMAND)
        cred = dynamics.credibility(year, g["alliance_credibility"], g["credibility_shock_year"],
                                    g["credibility_after"])
        support = dynamics.support_matrix(self.alliance, self.partners, cred, g["partnership"])
        active = g["counterattack"] * (year >= g["counterattack_year"])
        doctrine = 1.0 + self.is_japan * active * g["counterattack_boost"]
        floor = dynamics.legislated_floor(year, self.start_year, self.burden0, self.floor_target,
                                          self.floor_year)
        exo = dynamics.exogenous_threat(year, self.exo_threat, g["nato_europe_target"],
                                        g["nato_europe_year"], g["nato_europe_start"])
        baseline = self.intercept + self.drift * (year - self.start_year)
        return Schedule(demand, baseline, support, doctrine, floor, exo, cred)

    def start_state(self) -> dynamics.State:
        """The observed start-year state with the start-year threat and pressure."""
        sched = self.schedule(self.start_year)
        zeros = np.zeros(self.batch_shape + (len(self.countries),))
        threat = _threat(self, self.burden0, self.capability0, sched)
        pressure = dynamics.alliance_pressure(self.is_ally, self.insistence, sched.demand, self.burden0)
        return dynamics.State(self.burden0, self.gdp0, self.burden0 * self.gdp0, self.capability0,
                              threat, pressure, zeros)


def _threat(x: Inputs, burden, capability, sched: Schedule) -> np.ndarray:
    """Threat perceived with the relations of ``x`` (no shock)."""
    hostile, friendly = dynamics.projections(burden, capability, x.theatre_share, sched.doctrine, x.linear)
    return dynamics.perceived_threat(x.hostility, sched.support, hostile, friendly, x.hostility_scale,
                                     sched.exo, x.linear)


def draw_noise(rng: np.random.Generator, n_steps: int, n_countries: int) -> np.ndarray:
    """One run's standard normal draws, ``(n_steps, 2, n_countries)``: threat, budget.

    Every run draws exactly this block first from its own generator, whatever the driver, so a
    Mesa run and a batch run with the same seed see the same shocks.
    """
    return rng.standard_normal((n_steps, 2, n_countries))


def build_inputs(base: Params, varied: Mapping[str, np.ndarray] | None = None) -> Inputs:
    """Arrays for one run (``varied`` None) or for a batch of ``R`` runs.

    Args:
        base: the parameter set shared by every run.
        varied: flat parameter name -> values of shape ``(R,)``; each overrides ``base``.
            Structural parameters (countries, years, threat model, anchor) cannot vary.

    Raises:
        ParameterError: unknown name, structural name, or a value out of its bounds.
    """
    varied = dict(varied or {})
    table = specs()
    n_runs = None
    for name, values in varied.items():
        first = np.ravel(values)[0] if np.size(values) else None
        if name not in table:
            raise ParameterError(f"Unknown parameter {name!r}. Got {first!r} (first of {np.size(values)}) for it.")
        if name in STRUCTURAL:
            raise ParameterError(f"The {name!r} parameter cannot vary within a batch. "
                                 f"Got {first!r} (first of {np.size(values)}) instead.")
        arr = np.asarray(values, dtype=float)
        spec = table[name]
        if spec.kind == "bool":
            bad = ~np.isin(arr, (0.0, 1.0))
        else:
            bad = ~np.isfinite(arr) | (arr < spec.low) | (arr > spec.high)
            if spec.kind == "int":
                bad |= arr != np.round(arr)
        if bad.any():
            raise ParameterError(f"The {name!r} parameter must be {spec.describe()}. "
                                 f"Got {arr[bad][0].item()!r} instead.")
        if n_runs is not None and arr.shape != (n_runs,):
            raise ParameterError(f"The {name!r} values must have shape ({n_runs},). Got {arr.shape} instead.")
        n_runs = arr.shape[0]
        varied[name] = arr
    batch = () if n_runs is None else (n_runs,)
    countries = base.countries
    n = len(countries)

    def glob(name: str) -> np.ndarray:
        if name in varied:
            return varied[name][:, None]
        return np.full(batch + (1,), float(base[name]))

    def per_country(field: str, fallback: Mapping[str, float] | None = None) -> np.ndarray:
        cols = []
        for iso in countries:
            name = country_param(field, iso)
            if name in varied:
                cols.append(varied[name])
            else:
                v = base[name]
                if v is None:
                    v = fallback[iso] if fallback is not None else np.nan
                cols.append(np.full(batch, float(v)))
        return np.stack(cols, axis=-1)

    def hostility_of(p_value) -> np.ndarray:
        h = np.zeros(batch + (n, n))
        for i, obs in enumerate(countries):
            for j, src in enumerate(countries):
                if i != j:
                    h[..., i, j] = p_value(hostility_param(obs, src))
        return h

    g = {name: glob(name) for name in GLOBALS}
    obs = observed(countries, base["start_year"])
    burden0 = per_country("initial_burden", dict(zip(countries, obs.burden)))
    gdp0 = np.broadcast_to(obs.gdp, batch + (n,)).copy()
    capability0 = np.stack([initial_capability(h, g["depreciation"][..., 0])
                            for h in obs.spending_history], axis=-1)
    x = Inputs(
        countries=countries, start_year=base["start_year"], until=base["until"],
        linear=base["threat_model"] == "linear",
        sensitivity=per_country("threat_sensitivity") * g["threat_scale"],
        speed=per_country("adjustment_speed"), response=per_country("pressure_response"),
        fiscal_drag=per_country("fiscal_drag"), debt=per_country("debt"),
        backlash_gain=per_country("backlash_gain"), theatre_share=per_country("theatre_share"),
        burden_floor=per_country("burden_floor"), burden_cap=per_country("burden_cap"),
        max_change=per_country("max_change"), shifting=per_country("burden_shifting"),
        floor_target=per_country("floor_target"), floor_year=per_country("floor_year"),
        exo_threat=per_country("exo_threat"), drift=per_country("drift"),
        growth=per_country("growth", default_growth()),
        g=g,
        hostility=hostility_of(lambda k: varied[k] if k in varied else base[k]),
        is_ally=np.array([float(c in ALLIES and LEADER in countries) for c in countries]),
        is_japan=np.array([float(c == "JPN") for c in countries]),
        alliance=_pairs(countries, lambda a, b: {a, b} <= set(ALLIES) | {LEADER} and LEADER in (a, b)),
        partners=_pairs(countries, lambda a, b: {a, b} <= set(RIVALS)),
        lead=_pairs(countries, lambda a, b: a == LEADER and b in ALLIES, symmetric=False),
        burden0=burden0, gdp0=gdp0, capability0=capability0,
        intercept=np.zeros(batch + (n,)), batch_shape=batch,
    )
    _check_batch_consistency(x, varied)
    bad = (burden0 < x.burden_floor) | (burden0 > x.burden_cap)
    if bad.any():
        where = tuple(np.argwhere(bad)[0])
        run, i = where[:-1], where[-1]
        iso = countries[i].lower()
        raise ParameterError(
            f"The start burden of {countries[i]} ({burden0[where]:.4f}) must lie within "
            f"[burden_floor_{iso}, burden_cap_{iso}]. Got [{x.burden_floor[run + (i,)]:g}, "
            f"{x.burden_cap[run + (i,)]:g}] instead" + (f" (run {run[0]})." if run else "."))
    x.compliance = dynamics.compliance(x.is_ally, x.response, x.insistence)
    x.intercept = _intercept(x, base, per_country)
    return x


def _pairs(countries, rule, symmetric: bool = True) -> np.ndarray:
    n = len(countries)
    m = np.zeros((n, n))
    for i, a in enumerate(countries):
        for j, b in enumerate(countries):
            if i != j and rule(a, b):
                m[i, j] = 1.0
                if symmetric:
                    m[j, i] = 1.0
    return m


def _check_batch_consistency(x: Inputs, varied: Mapping[str, np.ndarray]) -> None:
    """The cross-field rules of :class:`Params`, run by run, for values that vary in a batch."""
    if not varied:
        return  # a single Params was already checked
    late = (x.g["us_demand_year"] < x.g["us_demand_start"])[..., 0]
    if late.any():
        r = int(np.argwhere(late)[0][0])
        raise ParameterError(f"The 'us_demand_year' parameter must not be before us_demand_start "
                             f"({x.g['us_demand_start'][r, 0]:g}). Got {x.g['us_demand_year'][r, 0]:g} "
                             f"instead (run {r}).")
    for field, values in (("burden_floor", x.burden_floor), ("floor_target", x.floor_target)):
        over = values > x.burden_cap
        if over.any():
            r, i = (int(v) for v in np.argwhere(over)[0])
            iso = x.countries[i].lower()
            raise ParameterError(f"The '{field}_{iso}' parameter must not exceed burden_cap_{iso} "
                                 f"({x.burden_cap[r, i]:g}). Got {values[r, i]:g} instead (run {r}).")


@cache
def _reference_inputs(countries: tuple[str, ...], start_year: int, until: int, threat_model: str) -> Inputs:
    """Inputs of the default parameter set (the anchoring reference); read only."""
    ref = Params.from_kwargs(countries=list(countries), start_year=start_year, until=until, anchor=False,
                             threat_model=threat_model)
    return build_inputs(ref)


def _intercept(x: Inputs, base: Params, per_country) -> np.ndarray:
    """Intercept of the desired burden: anchored to the start year, or the baseline burden."""
    if not base["anchor"]:
        baseline = per_country("baseline_burden")
        return np.where(np.isnan(baseline), x.burden0, baseline)
    r = _reference_inputs(x.countries, x.start_year, x.until, base["threat_model"])
    sched = r.schedule(x.start_year)
    threat = _threat(r, x.burden0, x.capability0, sched)
    # Own preference that, with the reference demand and insistence, yields the observed burden:
    # b0 = own + c (D - own) for own < D, i.e. own = (b0 - c D) / (1 - c); own = b0 when b0 >= D.
    c = dynamics.compliance(x.is_ally, x.response, r.insistence)
    own = np.where(x.burden0 >= REFERENCE_DEMAND, x.burden0, (x.burden0 - c * REFERENCE_DEMAND) / (1.0 - c))
    return own - x.sensitivity * threat
