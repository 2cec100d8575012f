"""Local stability of the threat response: the spectral radius of its linearisation.

Richardson's arms race is stable when the reaction coefficients are small against the fatigue
coefficients (two countries: ``k*l < a*b``; N countries: the spectral radius of the reaction
matrix below one, MODEL.md). The indicator here generalises that to the model as it stands at the
end of a run: ``A[i, j] = d(desired burden of i) / d(burden of j)`` through the threat channel,
evaluated at the end state with the end year's relations (credibility, partnership, doctrine) and
US demand, and ``rho(A) = max |eigenvalue(A)|``: below 1, a small lasting change in burdens
dies out through the threat channel; above 1, it feeds on itself (a spiral).

Compliance with the US demand is held fixed at its value (``x.compliance``): an ally whose own
preference is below the demand wants ``own + c (D - own)``, so its row of ``A`` is its threat
response scaled by ``(1 - c)`` (part of a pressed ally's effort is set by the demand, not by
threat); an ally already above the demand, and every other country, responds in full. Allies'
added burden (burden shifting by the leader) is held at zero.

In the ``ratio`` threat model threat depends on capability stocks, not burdens; capabilities are
put at the steady state their burden would sustain, ``K_j = burden_j * gdp_j / depreciation``
(perpetual inventory at rest), so that ``A`` answers "if j's burden were a little higher for good,
how much more would i want to spend". In the ``linear`` (Richardson) model threat is the
hostility-weighted sum of burdens and ``A = diag(threat_sensitivity * threat_scale) * hostility *
hostility_scale`` exactly (rows of pressed allies times ``1 - c``). For two countries with
Richardson's ``k = a * s_1 * h_12`` and ``l = b * s_2 * h_21`` (``a``, ``b`` the adjustment
speeds, the fatigue terms), ``rho(A) = sqrt(s_1 h_12 s_2 h_21) = sqrt(k*l / (a*b))``, so
``rho(A) < 1`` exactly when ``k*l < a*b``: the adjustment speeds set how fast a spiral unfolds,
not whether it does. In the ratio model the diagonal of ``A`` is negative (a country's own
capability reassures it).

The derivatives are central finite differences through :func:`model.sim.dynamics.projections`,
:func:`~model.sim.dynamics.perceived_threat` and :func:`~model.sim.dynamics.desired_burden`, batched over
runs and perturbed countries at once, so that the indicator follows the equations without a
second, hand-derived copy of them.
"""

from __future__ import annotations

import numpy as np

from model.sim import dynamics

REL_STEP = 1e-5
"""Finite-difference step relative to the burden (central differences: error ~ step**2)."""
MIN_STEP = 1e-8
"""Smallest absolute step in burden (share of GDP), for countries at (near) zero burden."""


def _flat(a: np.ndarray, batch: tuple[int, ...], core: tuple[int, ...]) -> np.ndarray:
    """``a`` broadcast to ``batch + core`` and reshaped to ``(R,) + core`` (R = prod(batch), >= 1)."""
    r = int(np.prod(batch)) if batch else 1
    return np.broadcast_to(np.asarray(a, dtype=float), batch + core).reshape((r,) + core)


def response_matrix(x, state: dynamics.State, year: int | None = None) -> np.ndarray:
    """Linearised threat response ``A[i, j] = d desired_i / d burden_j`` at ``state``.

    Args:
        x: :class:`model.sim.inputs.Inputs` (any batch shape ``B``).
        state: the state to linearise at, fields ``B + (N,)`` (burden share of GDP, GDP US$ bn).
        year: year whose schedule (credibility, doctrine, exogenous threat, US demand) applies; default the
            last year of the horizon, ``x.until``.

    Returns:
        ``B + (N, N)``: burden points of desired burden per burden point of each source.
    """
    year = x.until if year is None else year
    batch = tuple(x.batch_shape)
    n = len(x.countries)
    sched = x.schedule(year)
    burden = _flat(state.burden, batch, (n,))
    gdp = _flat(state.gdp, batch, (n,))
    r = burden.shape[0]
    step = np.maximum(REL_STEP * np.abs(burden), MIN_STEP)                        # (R, N)
    # Perturbations on a new axis: rows 0..N-1 raise country j, rows N..2N-1 lower it.
    bump = np.eye(n)[None] * step[:, None, :]                                     # (R, N, N)
    pert = burden[:, None, :] + np.concatenate([bump, -bump], axis=1)             # (R, 2N, N)
    depreciation = _flat(x.depreciation, batch, (1,))[:, None, :]
    capability = pert * gdp[:, None, :] / depreciation                            # steady-state K
    hostile, friendly = dynamics.projections(
        pert, capability, _flat(x.theatre_share, batch, (n,))[:, None, :],
        _flat(sched.doctrine, batch, (n,))[:, None, :], x.linear)
    threat = dynamics.perceived_threat(
        _flat(x.hostility, batch, (n, n))[:, None], _flat(sched.support, batch, (n, n))[:, None],
        hostile, friendly, _flat(x.hostility_scale, batch, (1,))[:, None, :],
        _flat(sched.exo, batch, (n,))[:, None, :], x.linear)                      # (R, 2N, N)
    # Compliance with the end year's US demand is held fixed (a pressed ally's row is scaled by
    # 1 - c); allies' added burden is held at zero, which keeps the difference free of rounding
    # from an unrelated term.
    desired = dynamics.desired_burden(
        _flat(sched.baseline, batch, (n,))[:, None, :], _flat(x.sensitivity, batch, (n,))[:, None, :],
        threat, _flat(x.compliance, batch, (n,))[:, None, :], _flat(sched.demand, batch, (n,))[:, None, :],
        _flat(x.shifting, batch, (n,))[:, None, :], np.zeros((r, 1, n)))
    # desired[:, j, i] is i's desired burden with j raised; A[i, j] = (up - down)[j, i] / (2 h_j).
    deriv = (desired[:, :n, :] - desired[:, n:, :]) / (2.0 * step[:, :, None])   # (R, j, i)
    return np.swapaxes(deriv, -1, -2).reshape(batch + (n, n))


def spectral_radius(a: np.ndarray) -> np.ndarray:
    """Largest eigenvalue modulus of each matrix in ``a`` (``(..., N, N)`` -> ``(...)``)."""
    return np.abs(np.linalg.eigvals(a)).max(axis=-1)


def response_radius(x, state: dynamics.State, year: int | None = None) -> np.ndarray:
    """Stability indicator: spectral radius of :func:`response_matrix` (below 1: locally damped).

    Args:
        x: :class:`model.sim.inputs.Inputs` (any batch shape ``B``).
        state: end state, fields ``B + (N,)``.
        year: year of the schedule to use (default ``x.until``).

    Returns:
        ``B``-shaped array of radii (dimensionless, >= 0): below 1, a small lasting change in any
        country's burden dies out through the threat channel; above 1, it grows (a spiral).
    """
    return spectral_radius(response_matrix(x, state, year))
