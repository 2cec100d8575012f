"""Local stability of the threat response: the spectral radius of its linearisation.

Richardson's arms race is stable when the reaction coefficients are small against the fatigue
coefficients (two countries: ``k*l < a*b``; N countries: the spectral radius of the reaction
matrix below one, MODEL.md). The indicator here generalises that to the model as it stands at the
end of a run: ``A[i, j] = d(desired burden of i) / d(burden of j)`` through the threat channel only
(compliance with US demands and allies' added burden held fixed), evaluated at the end state with
the end year's relations (credibility, partnership, doctrine); each country closes a share ``s_i``
(its adjustment speed, slowed by fiscal strain and backlash) of the gap a year, so the linearised
year-on-year map is ``M = I - diag(s) + diag(s) A`` and the indicator is
``rho(M) = max |eigenvalue(M)|``: below 1 locally stable, above 1 a spiral.

In the ``ratio`` threat model threat depends on capability stocks, not burdens; capabilities are
put at the steady state their burden would sustain, ``K_j = burden_j * gdp_j / depreciation``
(perpetual inventory at rest), so that ``A`` answers "if j's burden were a little higher for good,
how much more would i want to spend". In the ``linear`` (Richardson) model threat is the
hostility-weighted sum of burdens and ``A = diag(threat_sensitivity * threat_scale) * hostility *
hostility_scale`` exactly; ``M`` is then Richardson's matrix ``[[1-a, k], [l, 1-b]]`` and
``rho(M) < 1`` is the classic condition ``k*l < a*b``. In the ratio model the diagonal of ``A`` is
negative (a country's own capability reassures it), which damps ``M``.

The derivatives are central finite differences through :func:`model.dynamics.projections`,
:func:`~model.dynamics.perceived_threat` and :func:`~model.dynamics.desired_burden`, batched over
runs and perturbed countries at once, so that the indicator follows the equations without a
second, hand-derived copy of them.
"""

from __future__ import annotations

import numpy as np

from model import dynamics

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
        x: :class:`model.inputs.Inputs` (any batch shape ``B``).
        state: the state to linearise at, fields ``B + (N,)`` (burden share of GDP, GDP US$ bn).
        year: year whose schedule (credibility, doctrine, exogenous threat) applies; default the
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
    zeros = np.zeros((r, 1, n))
    # Threat channel only: compliance with the US demand and allies' added burden are held at
    # zero, which keeps the difference free of rounding from unrelated terms.
    desired = dynamics.desired_burden(
        _flat(sched.baseline, batch, (n,))[:, None, :], _flat(x.sensitivity, batch, (n,))[:, None, :],
        threat, zeros, zeros,
        _flat(x.shifting, batch, (n,))[:, None, :], zeros)
    # desired[:, j, i] is i's desired burden with j raised; A[i, j] = (up - down)[j, i] / (2 h_j).
    deriv = (desired[:, :n, :] - desired[:, n:, :]) / (2.0 * step[:, :, None])   # (R, j, i)
    return np.swapaxes(deriv, -1, -2).reshape(batch + (n, n))


def spectral_radius(a: np.ndarray) -> np.ndarray:
    """Largest eigenvalue modulus of each matrix in ``a`` (``(..., N, N)`` -> ``(...)``)."""
    return np.abs(np.linalg.eigvals(a)).max(axis=-1)


def iteration_matrix(x, state: dynamics.State, year: int | None = None) -> np.ndarray:
    """Linearised year-on-year burden map ``M = I - diag(s) + diag(s) A`` at ``state``.

    ``A`` is :func:`response_matrix`; ``s`` the speed at which burdens rise at that state, the
    adjustment speed slowed by fiscal strain and backlash (``speed / (1 + drag * debt + backlash)``,
    as in :func:`model.dynamics.decide`). For the Richardson case this is ``[[1-a, k], [l, 1-b]]``,
    whose spectral radius is below one exactly when ``k*l < a*b``.
    """
    a = response_matrix(x, state, year)
    n = a.shape[-1]
    speed = x.speed / (1.0 + x.fiscal_drag * x.debt + state.backlash)
    speed = np.broadcast_to(speed, a.shape[:-1])
    return np.eye(n) - speed[..., :, None] * np.eye(n) + speed[..., :, None] * a


def response_radius(x, state: dynamics.State, year: int | None = None) -> np.ndarray:
    """Stability indicator: spectral radius of :func:`iteration_matrix` (below 1: locally stable).

    Args:
        x: :class:`model.inputs.Inputs` (any batch shape ``B``).
        state: end state, fields ``B + (N,)``.
        year: year of the schedule to use (default ``x.until``).

    Returns:
        ``B``-shaped array of radii (dimensionless, >= 0): below 1, a small lasting change in any
        country's burden dies out through the threat channel; above 1, it grows (a spiral).
    """
    return spectral_radius(iteration_matrix(x, state, year))
