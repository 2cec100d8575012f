"""Parameters, relations, the observed start state and each run's draws turned into the arrays the dynamics read.

Both drivers build their inputs here, so a Mesa run and a batch run of the same parameter set and
seed start from identical arrays: :func:`build_inputs` takes one base :class:`~model.sim.params.Params`,
for a batch a mapping of varied parameter names to value arrays of shape ``(R,)``, and the runs'
random draws (:func:`draw_run`).

Anchoring (``anchor = true``, the default; docs/MODEL.md "Intercepts"): each country's intercept
is set so that its observed start-year burden is exactly its desired burden under the
*reference* relations (the default hostility, credibility, partnership, theatre shares, no
doctrine, NATO Europe at its start) and the 2% US expectation, with the run's own coefficients.
The start year is then the rest point of every country; a scenario that changes relations or
demand moves countries away from it for stated reasons. The rolling backtest scores exactly this
device (:mod:`model.analysis.backtest`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import NamedTuple

import numpy as np

from model.errors import ParameterError
from model.sim import dynamics
from model.sim.data import Observed, default_growth, initial_capability, observed
from model.sim.params import (
    ALLIES,
    ESTIMATED,
    GLOBAL_SPECS,
    LEADER,
    RIVALS,
    STRUCTURAL,
    Params,
    coefficient_draw,
    country_param,
    hostility_param,
    specs,
    validated_batch,
)

GLOBALS = [s.name for s in GLOBAL_SPECS if s.name not in STRUCTURAL]
"""Global parameters that may vary within a batch."""
N_COEFFICIENTS = 3
"""Standard normal draws per run for the estimated coefficients (persistence, threat, ally)."""


class RunDraws(NamedTuple):
    """One run's random draws (taken from its generator in the order coefficients, North Korea, shocks).

    Attributes:
        noise: ``(T, 2, N)`` standard normal shocks (threat, budget) per simulated year.
        coefficients: ``(3,)`` standard normal draws of the estimated coefficients (used when
            ``coefficient_draws`` is on).
        prk: ``(2,)`` uniform draws of North Korea's start burden and GDP (used when ``prk_draws`` is on).
    """

    noise: np.ndarray
    coefficients: np.ndarray
    prk: np.ndarray


def draw_run(rng: np.random.Generator, n_steps: int, n_countries: int) -> RunDraws:
    """Every random draw of one run, always in this order and always all of them.

    Every run takes exactly these blocks first from its own generator, whatever the driver and
    whether or not the draws are used: the coefficient draws, North Korea's, then the yearly shocks
    year by year. So a Mesa run and a batch run with the same seed see the same draws; switching
    coefficient draws on leaves the shocks unchanged; and a shorter horizon sees the same
    coefficients and the first years of the same shocks (the draws are prefix-stable in ``n_steps``).
    """
    coefficients = rng.standard_normal(N_COEFFICIENTS)
    prk = rng.random(2)
    noise = rng.standard_normal((n_steps, 2, n_countries))
    return RunDraws(noise, coefficients, prk)


def draw_runs(seeds: np.ndarray, n_steps: int, n_countries: int) -> RunDraws:
    """:func:`draw_run` for each seed (``np.random.default_rng(seed)``), stacked on a leading run axis."""
    parts = [draw_run(np.random.default_rng(int(s)), n_steps, n_countries) for s in np.asarray(seeds)]
    return RunDraws(*(np.stack([getattr(p, f) for p in parts]) for f in RunDraws._fields))


def build_inputs(base: Params, varied: Mapping[str, np.ndarray] | None = None,
                 draws: RunDraws | None = None, start: Observed | None = None) -> dynamics.Inputs:
    """Arrays for one run (``varied`` None) or for a batch of ``R`` runs.

    Args:
        base: the parameter set shared by every run.
        varied: flat parameter name -> values of shape ``(R,)``; each overrides ``base``.
            Structural parameters (countries, years, threat model, anchor) cannot vary.
        draws: the runs' draws (leading shape ``()`` or ``(R,)``), needed when coefficient or
            North Korea draws are on; without them those draws are at their centre (z = 0, u = 0.5).
        start: the observed start state (default: the SIPRI data of ``start_year``,
            :func:`model.sim.data.observed`); the backtest and tests start from other histories.

    Raises:
        ParameterError: unknown name, structural name, a value out of its bounds, or a broken
            cross-field rule (naming the run).
    """
    varied = validated_batch(base, varied or {})
    n_runs = next((len(v) for v in varied.values()), None)
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

    g = {name: glob(name) for name in GLOBALS}
    z, u = _draws(draws, batch)
    coef = {k: per_country(k) for k in ESTIMATED}
    shifts = coefficient_draw(z)
    on = g["coefficient_draws"][..., 0] > 0
    table = specs()
    for k in ESTIMATED:  # a drawn run moves every country's coefficient by the drawn shift, within bounds
        spec = table[country_param(k, countries[0])]
        coef[k] = np.where(on[..., None], np.clip(coef[k] + shifts[k][..., None], spec.low, spec.high), coef[k])

    obs = observed(countries, base["start_year"]) if start is None else start
    burden0 = per_country("initial_burden", dict(zip(countries, obs.burden)))
    gdp0 = np.broadcast_to(obs.gdp, batch + (n,)).copy()
    if "PRK" in countries:
        j = countries.index("PRK")
        prk_on = g["prk_draws"][..., 0] > 0
        drawn_b = g["prk_burden_low"][..., 0] + u[..., 0] * (g["prk_burden_high"][..., 0] - g["prk_burden_low"][..., 0])
        drawn_y = g["prk_gdp_low"][..., 0] + u[..., 1] * (g["prk_gdp_high"][..., 0] - g["prk_gdp_low"][..., 0])
        burden0[..., j] = np.where(prk_on, drawn_b, burden0[..., j])
        gdp0[..., j] = np.where(prk_on, drawn_y, gdp0[..., j])
    history = [np.broadcast_to(h, batch + h.shape) for h in obs.spending_history]
    if "PRK" in countries:  # a single value standing for every year: the (drawn) start spending
        j = countries.index("PRK")
        history[j] = (burden0[..., j] * gdp0[..., j])[..., None]
    capability0 = np.stack([initial_capability(h, g["depreciation"][..., 0]) for h in history], axis=-1)

    def rel(rule, symmetric: bool = True) -> np.ndarray:
        return _pairs(countries, rule, symmetric)

    hostility = np.zeros(batch + (n, n))
    for i, obs_iso in enumerate(countries):
        for k, src in enumerate(countries):
            if i != k:
                name = hostility_param(obs_iso, src)
                hostility[..., i, k] = varied[name] if name in varied else base[name]
    speed = coef["adjustment_speed"]
    x = dynamics.Inputs(
        countries=countries, start_year=base["start_year"], until=base["until"],
        linear=base["threat_model"] == "linear", batch_shape=batch,
        speed=speed, sensitivity=coef["threat_sensitivity"] * g["threat_scale"],
        ally_response=coef["ally_response"], response=per_country("pressure_response"),
        saturation=per_country("threat_saturation"), fiscal_drag=per_country("fiscal_drag"),
        debt=per_country("debt"), backlash_gain=per_country("backlash_gain"),
        shifting=per_country("burden_shifting"), exo_threat=per_country("exo_threat"),
        theatre_share=per_country("theatre_share"), burden_floor=per_country("burden_floor"),
        burden_cap=per_country("burden_cap"), max_change=per_country("max_change"),
        floor_target=per_country("floor_target") * per_country("measure_factor"),
        floor_year=per_country("floor_year"), growth=per_country("growth", default_growth()),
        us_demand=g["us_demand"], us_demand_start=g["us_demand_start"], us_demand_year=g["us_demand_year"],
        insistence=g["us_insistence"], credibility=g["alliance_credibility"],
        credibility_shock_year=g["credibility_shock_year"], credibility_after=g["credibility_after"],
        partnership=g["partnership"], hostility_scale=g["hostility_scale"], counterattack=g["counterattack"],
        counterattack_year=g["counterattack_year"], counterattack_boost=g["counterattack_boost"],
        nato_europe_target=g["nato_europe_target"], nato_europe_year=g["nato_europe_year"],
        nato_europe_start=g["nato_europe_start"], threat_noise=g["threat_noise"], budget_noise=g["budget_noise"],
        depreciation=g["depreciation"], backlash_decay=g["backlash_decay"], crowding_out=g["crowding_out"],
        hostility=hostility,
        is_ally=np.array([float(c in ALLIES and LEADER in countries) for c in countries]),
        is_japan=np.array([float(c == "JPN") for c in countries]),
        alliance=rel(lambda a, b: {a, b} <= set(ALLIES) | {LEADER} and LEADER in (a, b)),
        partners=rel(lambda a, b: {a, b} <= set(RIVALS)),
        lead=rel(lambda a, b: a == LEADER and b in ALLIES, symmetric=False),
        burden0=burden0, gdp0=gdp0, capability0=capability0,
        intercept=np.zeros(batch + (n,)), compliance=np.zeros(batch + (n,)), threat_ref=np.zeros(batch + (n,)),
    )
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
    ref = _reference_perception(x, base)
    x.threat_ref = np.broadcast_to(ref.threat, burden0.shape).copy()
    if base["anchor"]:
        x.intercept = burden0 - x.sensitivity * ref.threat - x.ally_response * ref.support
    else:
        baseline = per_country("baseline_burden")
        x.intercept = np.where(np.isnan(baseline), burden0, baseline)
    return x


def _draws(draws: RunDraws | None, batch: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The coefficient and North Korea draws with the batch's shape (centred when none are given)."""
    if draws is None:
        return np.zeros(batch + (N_COEFFICIENTS,)), np.full(batch + (2,), 0.5)
    z, u = np.asarray(draws.coefficients, float), np.asarray(draws.prk, float)
    if z.shape != batch + (N_COEFFICIENTS,) or u.shape != batch + (2,):
        raise ParameterError(f"The run draws must have shapes {batch + (N_COEFFICIENTS,)} and {batch + (2,)}. "
                             f"Got {z.shape} and {u.shape} instead.")
    return z, u


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


@cache
def _reference_params(countries: tuple[str, ...], start_year: int, until: int, threat_model: str) -> Params:
    return Params.from_kwargs(countries=list(countries), start_year=start_year, until=until, anchor=False,
                              threat_model=threat_model)


def _reference_perception(x: dynamics.Inputs, base: Params) -> dynamics.Perception:
    """Threat and support at the run's own start state under the reference relations (see the module docstring)."""
    ref = _reference_params(x.countries, x.start_year, x.until, base["threat_model"])
    n = len(x.countries)
    hostility = np.zeros((n, n))
    for i, obs_iso in enumerate(x.countries):
        for k, src in enumerate(x.countries):
            if i != k:
                hostility[i, k] = ref[hostility_param(obs_iso, src)]
    theatre = np.array([ref[country_param("theatre_share", c)] for c in x.countries])
    one = np.ones(x.batch_shape + (1,))
    r = x.replace(hostility=hostility, theatre_share=theatre, hostility_scale=one,
                  credibility=one * ref["alliance_credibility"], credibility_shock_year=one * 0,
                  partnership=one * ref["partnership"], counterattack=one * 0, exo_threat=np.zeros(n),
                  saturation=np.zeros(n))
    sched = dynamics.schedule(r, x.start_year)
    spending = x.burden0 * x.gdp0
    state = dynamics.State(x.burden0, spending, x.gdp0, x.capability0, spending * 0, spending * 0, spending * 0)
    return dynamics.perceive(r, sched, state)
