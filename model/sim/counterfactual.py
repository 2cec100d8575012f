"""Matched counterfactual runs and the noise band of the no-lever ensemble (docs/MODEL.md, "Outcomes").

A run's counterfactual is the same seed -- the same yearly shocks, coefficient and North Korea
draws, with the run's own noise and draw settings -- under the base levers: in a sweep the
experiment's base (every varied parameter at its base value, except randomness and start data),
for a single run :func:`model.sim.params.counterfactual` (the baseline). It is always simulated by the array kernel
(:func:`model.sim.dynamics.simulate`), whichever driver ran the run itself, so both drivers report
identical outcomes.

The noise band is the spread of late regional growth over :data:`BAND_RUNS` counterfactual runs
with the fixed seeds ``0 .. BAND_RUNS - 1`` (:func:`model.sim.outcomes.noise_band`): it depends on
the base parameters only, never on the chunking of a sweep or on the runs' own seeds. Without
shocks or draws it is 0.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from model.sim import dynamics
from model.sim.inputs import RunDraws, build_inputs, draw_runs
from model.sim.outcomes import Counterfactual, noise_band
from model.sim.params import DRAW_SWITCHES, Params, kept_by_counterfactual

BAND_RUNS = 64
"""Counterfactual runs (seeds 0..63) whose spread of late growth sets the noise band."""
GLOBAL = "us_demand"
"""A global held at its base value to give a batch its run axis (:func:`with_run_axis`)."""


def has_draws(params: Params, varied: Mapping[str, np.ndarray] | None = None) -> bool:
    """True if any run of ``params`` has shocks or coefficient / North Korea draws.

    ``varied``: per-run values overriding ``params`` (a batch); any run with a switch of
    :data:`model.sim.params.DRAW_SWITCHES` on counts.
    """
    varied = varied or {}
    return any(np.any(np.asarray(varied[k] if k in varied else params[k], dtype=float) != 0.0)
               for k in DRAW_SWITCHES)


def with_run_axis(params: Params, varied: Mapping[str, np.ndarray] | None, n_runs: int) -> dict[str, np.ndarray]:
    """``varied``, or (when empty) :data:`GLOBAL` held at its value in ``params``, so a batch has ``n_runs`` runs."""
    return dict(varied) if varied else {GLOBAL: np.full(n_runs, float(params[GLOBAL]))}


def counterfactual_paths(params: Params, draws: RunDraws | None, n_runs: int,
                         kept: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Paths ``(R, T+1, N)`` of ``params`` for ``n_runs`` runs with the given draws (None: no shocks).

    ``kept``: per-run values the counterfactual keeps from its runs (randomness, start data).
    """
    x = build_inputs(params, with_run_axis(params, kept, n_runs), draws)
    return dynamics.simulate(x, None if draws is None else draws.noise)


def matched(params: Params, seeds: np.ndarray, varied: Mapping[str, np.ndarray] | None = None,
            draws: RunDraws | None = None) -> tuple[Counterfactual, np.ndarray]:
    """The counterfactual of runs with ``seeds`` under ``params``: (burden and threat paths, GDP paths).

    Of the runs' ``varied`` parameters, those a counterfactual keeps (randomness, start data:
    :func:`model.sim.params.kept_by_counterfactual`) keep their per-run values; the rest take the
    value in ``params``.

    ``draws``: the runs' draws if the caller has already made them (``draw_runs(seeds, T, N)``, as the
    batch engine has), so they are not drawn again; used exactly when the counterfactual needs draws.
    Without them they are drawn here when needed. Either way the result is the same, bit for bit.
    Without draws or kept values every run's counterfactual is the same run: it is simulated once and
    the paths are read-only views of it.
    """
    seeds = np.asarray(seeds)
    kept = {k: np.asarray(v) for k, v in (varied or {}).items() if kept_by_counterfactual(k)}
    steps, n = params["until"] - params["start_year"], len(params.countries)
    if not has_draws(params, kept):
        if not kept:  # every run's counterfactual is one and the same deterministic run: simulate it once
            out = {k: np.broadcast_to(v, (len(seeds), *v.shape[1:]))
                   for k, v in counterfactual_paths(params, None, 1).items()}
            return Counterfactual(out["burden"], out["threat"]), out["gdp"]
        draws = None
    elif draws is None:
        draws = draw_runs(seeds, steps, n)
    elif draws.noise.shape != (len(seeds), steps, 2, n):
        raise ValueError(f"draws for {len(seeds)} runs of {steps} years and {n} countries expected, "
                         f"got shocks of shape {draws.noise.shape}")
    out = counterfactual_paths(params, draws, len(seeds), kept)
    return Counterfactual(out["burden"], out["threat"]), out["gdp"]


def ensemble_band(params: Params) -> float:
    """Noise band (share of GDP) of the no-lever ensemble of ``params`` (0 without shocks or draws)."""
    if not has_draws(params):
        return 0.0
    cf, gdp = matched(params, np.arange(BAND_RUNS))
    return noise_band(cf.burden, gdp)
