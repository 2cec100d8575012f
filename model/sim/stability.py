"""Local stability: the spectral radius of the linearised year-on-year map of burdens.

One year of the decision rule maps last year's burdens ``b`` to this year's,
``b'_i = b_i + lambda_i (desired_i(b) - b_i)`` (docs/MODEL.md, "Decision"). Its Jacobian is

    J = I - diag(lambda) + diag(lambda) A,    A[i, j] = d desired_i / d b_j,

and ``rho(J) = max |eigenvalue(J)|`` is the stability indicator: below 1, a small lasting change
of any country's burden dies out year by year; above 1, it grows (a spiral through the
action-reaction channel, or mutual restraint down to the floors). Runs report it at their *start*
state under their policies (the schedule of the last year: full US demand, doctrine, credibility):
is today's region, under these levers, a stable rest point? Anchored runs start at rest, so a
radius above 1 means they leave the start and do not come back (in the log model the loop gain
falls as spending rises, so the end state of a spiral can be stable again).

``A`` runs through threat (rivals' spending, in the log model through ``log``), support (allies'
spending) and the compliance with the US demand (an ally below the demand responds with ``1 - c``
of its own preference); GDP is held at the state's value, so ``spending_j = b_j * gdp_j``. A
country held at its floor (or a legislated floor) or at its cap at that state does not move with
the others: its row of ``J`` is zero (a burden pinned by a bound answers no small change). Fiscal
restraint, the largest yearly change and burden shifting are left out.

Richardson's two-country case, ``x' = x + k y - a x + g``, ``y' = y + l x - b y + h``, has
``J = [[1 - a, k], [l, 1 - b]]`` with eigenvalues ``1 + mu``,
``mu = (-(a + b) +- sqrt((a - b)^2 + 4 k l)) / 2``: the larger exceeds 0 exactly when
``k l > a b``, which is Richardson's divergence condition, and with adjustment speeds in (0, 1]
the smaller stays above -2. So ``rho(J) > 1`` exactly when the recurrence diverges.

The derivatives are central finite differences through :func:`model.sim.dynamics.perceive` and
:func:`~model.sim.dynamics.desired_burden`, batched over runs and perturbed countries at once, so
the indicator follows the equations without a second, hand-derived copy of them.
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


def response_matrix(x: dynamics.Inputs, state: dynamics.State, year: int | None = None) -> np.ndarray:
    """``A[i, j] = d desired_i / d burden_j`` at ``state`` (burden points per burden point).

    Args:
        x: inputs (any batch shape ``B``).
        state: the state to linearise at, fields ``B + (N,)``.
        year: year whose schedule (credibility, doctrine, Europe, US demand) applies; default ``x.until``.

    Returns:
        ``B + (N, N)``.
    """
    year = x.until if year is None else year
    batch = tuple(x.batch_shape)
    n = len(x.countries)
    burden = _flat(state.burden, batch, (n,))
    gdp = _flat(state.gdp, batch, (n,))
    r = burden.shape[0]
    step = np.maximum(REL_STEP * np.abs(burden), MIN_STEP)                        # (R, N)
    # Perturbations on a new axis: rows 0..N-1 raise country j, rows N..2N-1 lower it.
    bump = np.eye(n)[None] * step[:, None, :]                                     # (R, N, N)
    pert = burden[:, None, :] + np.concatenate([bump, -bump], axis=1)             # (R, 2N, N)
    spending = pert * gdp[:, None, :]
    zeros = np.zeros_like(pert)
    probe = dynamics.State(pert, spending, np.broadcast_to(gdp[:, None, :], pert.shape), zeros, zeros, zeros, zeros)
    flat = x.replace(**{f: _flat(getattr(x, f), batch, shape)[:, None]
                        for f, shape in _fields(x, n).items()}, batch_shape=(r, 1))
    sched = dynamics.schedule(flat, year)
    seen = dynamics.perceive(flat, sched, probe)                                  # (R, 2N, N)
    desired = dynamics.desired_burden(flat.intercept, flat.sensitivity, seen.threat, flat.ally_response, seen.support,
                                      flat.compliance, sched.demand, flat.shifting, zeros)
    # desired[:, j, i] is i's desired burden with j raised; A[i, j] = (up - down)[j, i] / (2 h_j).
    deriv = (desired[:, :n, :] - desired[:, n:, :]) / (2.0 * step[:, :, None])   # (R, j, i)
    return np.swapaxes(deriv, -1, -2).reshape(batch + (n, n))


def _fields(x: dynamics.Inputs, n: int) -> dict[str, tuple[int, ...]]:
    """Input arrays that carry the batch axis, with their core shape (countries, relations or globals)."""
    out = {}
    for f, v in vars(x).items():
        if not isinstance(v, np.ndarray):
            continue
        if v.shape[-2:] == (n, n) and f in ("hostility", "alliance", "partners", "lead"):
            out[f] = (n, n)
        elif v.shape[-1:] == (n,):
            out[f] = (n,)
        elif v.shape[-1:] == (1,):
            out[f] = (1,)
    return out


BOUND_TOLERANCE = 1e-9
"""A burden within this of its floor or cap counts as held there."""


def pinned(x: dynamics.Inputs, state: dynamics.State, year: int | None = None) -> np.ndarray:
    """``B + (N,)``: True where a country's burden sits at its floor (or legislated floor) or its cap."""
    year = x.until if year is None else year
    lower = np.maximum(x.burden_floor, dynamics.schedule(x, year).floor)
    return (state.burden <= lower + BOUND_TOLERANCE) | (state.burden >= x.burden_cap - BOUND_TOLERANCE)


def year_map(x: dynamics.Inputs, state: dynamics.State, year: int | None = None) -> np.ndarray:
    """Jacobian of one year of the decision rule, ``J = I - diag(l) + diag(l) A``, rows of pinned
    countries zero (see the module docstring); ``B + (N, N)``."""
    a = response_matrix(x, state, year)
    speed = np.broadcast_to(x.speed, a.shape[:-1])[..., :, None]
    j = np.eye(a.shape[-1]) * (1.0 - speed) + speed * a
    held = np.broadcast_to(pinned(x, state, year), a.shape[:-1])[..., :, None]
    return np.where(held, 0.0, j)


def spectral_radius(a: np.ndarray) -> np.ndarray:
    """Largest eigenvalue modulus of each matrix in ``a`` (``(..., N, N)`` -> ``(...)``)."""
    return np.abs(np.linalg.eigvals(a)).max(axis=-1)


def response_radius(x: dynamics.Inputs, state: dynamics.State, year: int | None = None) -> np.ndarray:
    """Stability indicator: spectral radius of :func:`year_map` (below 1: small changes die out).

    Args:
        x: inputs (any batch shape ``B``).
        state: the state to linearise at, fields ``B + (N,)`` (the drivers pass the start state).
        year: year of the schedule to use (default ``x.until``).

    Returns:
        ``B``-shaped array of radii (dimensionless, >= 0).
    """
    return spectral_radius(year_map(x, state, year))
