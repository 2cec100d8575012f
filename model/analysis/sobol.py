"""Sobol' variance-based sensitivity indices on arrays, and the Saltelli design they need.

:func:`analyze` is SALib's estimator (``SALib.analyze.sobol.analyze(problem, Y)``, Saltelli 2002 /
Jansen 1999 as implemented in SALib) returning a tidy table: one row per parameter with first-order
(``S1``) and total-order (``ST``) indices and the half-widths of their bootstrap confidence
intervals (``*_conf``), and, for second-order designs, one ``S2_<other>`` / ``S2_conf_<other>``
column pair per other parameter. It takes a SALib problem and the outputs ``Y`` in the order of
SALib's Saltelli sample; it never reads a result folder.

Seeding. The bootstrap of the intervals draws from ``seed + 1`` (:data:`SALIB_SEED_OFFSET`):
SALib 1.6 seeds it only when the seed is truthy (``if seed:``), so a seed of 0 passed on would
leave the intervals unreproducible.

Saltelli blocks. A Saltelli sample of base size N over D parameters is N blocks of
:func:`block_size` points (A, the D cross-combinations AB_i, with second order also BA_i, then B).
The rows of a block share coordinates, so blocks, not points, are the independent units; SALib's
estimators need whole blocks. :func:`saltelli_design` finds the complete blocks of a design from its
record (the ``design`` entry of a sweep manifest, :meth:`model.batch.experiments.Experiment.design_record`)
and the design point of each finished run, so an unfinished sweep can be analysed on the blocks
it has.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from model.errors import IndicesUndefined, ParameterError

SALIB_SEED_OFFSET = 1
"""Bootstrap seed = ``seed + 1``: SALib 1.6 seeds its bootstrap only for a truthy seed (``if seed:``)."""
COLUMNS = ("S1", "S1_conf", "ST", "ST_conf")
"""First- and total-order columns of :func:`analyze`, in order (after ``parameter``)."""


def problem_of(design: Mapping[str, Any], where: str = "The design") -> dict[str, Any]:
    """The SALib problem (num_vars, names, bounds) of a Sobol design record.

    Raises:
        ParameterError: not a Sobol design, or no problem with names and bounds (``where`` names
            the design in the message, e.g. "The results folder 'x'").
    """
    if design.get("kind") != "sobol":
        raise ParameterError(f"{where} has a {design.get('kind')!r} design; Sobol indices need a 'sobol' design.")
    problem = design.get("problem")
    if not isinstance(problem, Mapping) or "names" not in problem or "bounds" not in problem:
        raise ParameterError(f"{where} has a Sobol design without its SALib problem (names, bounds) in "
                             f"manifest.json.")
    return {"num_vars": len(problem["names"]), "names": list(problem["names"]),
            "bounds": [list(map(float, b)) for b in problem["bounds"]]}


def block_size(num_vars: int, second_order: bool) -> int:
    """Design points per Saltelli block: 2D+2 with second-order indices, else D+2."""
    return 2 * num_vars + 2 if second_order else num_vars + 2


@dataclass(frozen=True)
class SaltelliDesign:
    """A Saltelli design and the part of it that can be analysed.

    Attributes:
        problem: SALib problem (num_vars, names, bounds) of the varied parameters.
        second: second-order indices were sampled (blocks of 2D+2 points, else D+2).
        block: design points per Saltelli block.
        n_blocks: blocks the design declares (its base sample size N).
        points: the design points to analyse, in order: those of complete blocks (every point with
            all its replicates); all of them when every run is there.
    """

    problem: dict
    second: bool
    block: int
    n_blocks: int
    points: np.ndarray

    @property
    def used_blocks(self) -> int:
        return len(self.points) // self.block


def saltelli_design(design: Mapping[str, Any], design_point: np.ndarray, replicates: int,
                    where: str = "The design", note: str = "") -> SaltelliDesign:
    """The complete Saltelli blocks of a design, given the design point of every finished run.

    Args:
        design: the design record (kind, n_points, problem, calc_second_order).
        design_point: (runs,) design point of each finished run.
        replicates: runs per design point.
        where: how messages name the design.
        note: why runs are missing, for the message when no block is complete.

    Raises:
        ParameterError: not a Sobol design, no problem, a point count that is not a multiple of the
            block size, design points outside it, or no complete block.
    """
    problem = problem_of(design, where)
    second = bool(design.get("calc_second_order", True))
    block = block_size(problem["num_vars"], second)
    point = np.asarray(design_point, dtype=np.int64)
    n_points = int(design.get("n_points") or len(np.unique(point)))
    if n_points % block or point.min() < 0 or point.max() >= n_points:
        raise ParameterError(f"{where} has {n_points} design points; a Sobol design of {problem['num_vars']} "
                             f"parameters needs a multiple of {block} points numbered from 0.")
    per_point = np.bincount(point, minlength=n_points)
    full = (per_point >= replicates).reshape(-1, block).all(axis=1)
    if not full.any():
        raise ParameterError(f"{where} has no complete Saltelli block of {block} design points yet "
                             f"({note or 'runs missing'}); Sobol indices need at least one.")
    points = (np.flatnonzero(full)[:, None] * block + np.arange(block)[None, :]).ravel()
    return SaltelliDesign(problem, second, block, n_points // block, points)


def analyze(problem: Mapping[str, Any], y: np.ndarray, *, calc_second_order: bool, num_resamples: int = 200,
            conf_level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Sobol indices of one output over a Saltelli sample (SALib's estimator).

    Args:
        problem: SALib problem (num_vars, names, bounds).
        y: (points,) the output at each point of the Saltelli sample, in SALib's sample order
            (whole blocks only).
        calc_second_order: the sample was drawn for second-order indices.
        num_resamples: bootstrap resamples of the confidence intervals.
        conf_level: their confidence level.
        seed: the bootstrap draws from ``seed + 1`` (see the module docstring).

    Returns:
        One row per parameter: ``parameter``, ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` and, with
        second order, ``S2_<other>``, ``S2_conf_<other>`` for every parameter (NaN on the diagonal).

    Raises:
        IndicesUndefined: ``y`` has missing values, no variance, or is constant within the sample
            blocks (SALib's estimators divide by the variance of A and B); ``.reason`` says which.
    """
    from SALib.analyze import sobol

    y = np.asarray(y, dtype=float)
    if not np.isfinite(y).all():
        raise IndicesUndefined("missing values")
    if np.ptp(y) == 0:
        raise IndicesUndefined("no variance")
    with warnings.catch_warnings(record=True) as caught, np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("always")
        si = sobol.analyze(dict(problem), y, calc_second_order=calc_second_order, num_resamples=num_resamples,
                           conf_level=conf_level, seed=seed + SALIB_SEED_OFFSET)
    if any("Constant values" in str(w.message) for w in caught):
        raise IndicesUndefined("no variance within the sample blocks")
    names = list(problem["names"])
    table = pd.DataFrame({"parameter": names, **{c: np.asarray(si[c], dtype=float) for c in COLUMNS}})
    if calc_second_order:
        for key in ("S2", "S2_conf"):
            m = np.asarray(si[key], dtype=float)
            m = np.where(np.isnan(m), m.T, m)  # SALib fills the upper triangle; the index is symmetric
            np.fill_diagonal(m, np.nan)
            for j, other in enumerate(names):
                table[f"{key}_{other}"] = m[:, j]
    return table
