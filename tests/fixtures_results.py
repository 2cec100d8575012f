"""Synthetic sweep result folders in the layout ``armsrace sweep`` writes (the results contract).

Layout (:mod:`model.batch.store`, which also writes the files here): ``DIR/manifest.json``,
``DIR/runs/chunk-*.parquet`` (one row per run: run, design_point, replicate, seed, the varied
parameters, then the outcomes of :func:`model.sim.outcomes.summarise` and ``stability_radius``) and, optionally,
``DIR/agents/chunk-*.parquet`` (run, year, country, burden, spending, gdp, capability, threat,
pressure, backlash). The manifest has the sweep's keys and shapes: the design record (with the
Sobol problem as the experiment records it, ``dists`` included), seeds ``{"root": seed}`` with the
per-run seeds of :func:`model.batch.experiments.run_seeds`, and the chunks table. What differs from a
real sweep, on purpose: ``engine`` is ``"synthetic-fixture"``, the hashes are of the fixture's own
description (there is no experiment file), and the paths come from the stand-in below, not the
model. ``tests/test_charts_*.py`` also draw every chart of a real (tiny) grid and Sobol sweep.

The paths come from a small closed-form stand-in for the model (not the model itself): each country
closes a share of the gap to a target burden every year; allies' targets rise with the US demand and
with low alliance credibility, rivals answer the allies' rise, and a high ``threat_scale`` with low
credibility adds a self-reinforcing term (a spiral). Outcomes are then computed with the real
:func:`model.sim.outcomes.summarise`, so they are consistent with the paths.

:func:`write_sobol` replaces ``regional_spending_growth`` by ``0.3 + 0.05 * Ishigami(x)``, with each
varied parameter mapped linearly from its bounds onto [-pi, pi]. Sobol indices do not change under
affine maps, so the analytic Ishigami indices (S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244) apply.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from model.batch import store
from model.batch.experiments import run_seeds
from model.sim.outcomes import summarise
from model.sim.params import ALLIES, COUNTRIES, RIVALS
from model.sim.units import UNITS

YEARS = np.arange(2024, 2041)
START_BURDEN = np.array([0.034, 0.014, 0.026, 0.013, 0.017, 0.233, 0.071])
START_GDP = np.array([28322.0, 4258.0, 1892.0, 460.0, 18557.0, 15.0, 2135.0])
GROWTH = np.array([0.024, 0.005, 0.024, 0.047, 0.057, 0.010, 0.015])
CAP = np.array([0.10, 0.06, 0.07, 0.05, 0.08, 0.30, 0.12])
DEFAULTS = {"us_demand": 0.02, "alliance_credibility": 0.8, "threat_scale": 1.0, "hostility_scale": 1.0}
ALLY = np.isin(COUNTRIES, ALLIES)
RIVAL = np.isin(COUNTRIES, RIVALS)
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)


def simulate(values: dict[str, np.ndarray], seeds: np.ndarray) -> dict[str, np.ndarray]:
    """Paths of R runs (arrays (R, T+1, N)) for parameter arrays of shape (R,)."""
    r = len(seeds)
    p = {k: np.broadcast_to(np.asarray(values.get(k, v), float), (r,)) for k, v in DEFAULTS.items()}
    t = np.arange(len(YEARS))[None, :, None]
    noise = np.stack([np.random.default_rng(int(s)).normal(0, 1, (2, len(YEARS), len(COUNTRIES))) for s in seeds])
    noise, threat_noise = noise[:, 0], noise[:, 1]
    ally_rise = 0.8 * (p["us_demand"] - 0.02) + 0.012 * (1 - p["alliance_credibility"])
    ally_rise = ally_rise + 0.004 * (p["threat_scale"] - 1) * p["hostility_scale"]
    rival_rise = 0.4 * ally_rise + 0.003 * (p["threat_scale"] - 1) * p["hostility_scale"]
    target = START_BURDEN[None, :] + np.where(ALLY[None, :], ally_rise[:, None],
                                              np.where(RIVAL[None, :], rival_rise[:, None], 0.3 * ally_rise[:, None]))
    spiral_rate = np.clip(0.03 * (p["threat_scale"] * p["hostility_scale"] * (1.6 - p["alliance_credibility"]) - 1.5),
                          0, None)
    approach = 1 - 0.75 ** t
    burden = START_BURDEN[None, None, :] + (target[:, None, :] - START_BURDEN[None, None, :]) * approach
    burden = burden * np.exp(spiral_rate[:, None, None] * t) * np.exp(0.01 * np.cumsum(noise, axis=1) / 3)
    burden[:, 0, :] = START_BURDEN
    burden = np.clip(burden, 0.002, CAP[None, None, :])
    gdp = START_GDP[None, None, :] * (1 + GROWTH[None, None, :]) ** t * np.ones((r, 1, 1))
    spending = burden * gdp
    capability = np.zeros_like(spending)
    capability[:, 0] = spending[:, 0] / 0.08
    for k in range(1, len(YEARS)):
        capability[:, k] = 0.92 * capability[:, k - 1] + spending[:, k]
    hostile = np.where(ALLY[None, None, :], capability[..., RIVAL].sum(-1, keepdims=True),
                       capability[..., ALLY].sum(-1, keepdims=True) + capability[..., :1])
    threat = p["threat_scale"][:, None, None] * hostile / (capability + capability.sum(-1, keepdims=True))
    threat = threat * np.exp(0.03 * np.cumsum(threat_noise, axis=1))
    demand = np.where(ALLY[None, None, :], p["us_demand"][:, None, None], 0.0)
    pressure = np.clip(demand - burden, 0, None)
    backlash = np.clip(np.diff(burden, axis=1, prepend=burden[:, :1]), 0, None) * 50
    return {"burden": burden, "spending": spending, "gdp": gdp, "capability": capability, "threat": threat,
            "pressure": pressure, "backlash": backlash, "spiral_rate": spiral_rate}


def grid_points(values: dict[str, list[float]]) -> pd.DataFrame:
    """Full factorial design, the first parameter varying slowest."""
    return pd.DataFrame(list(itertools.product(*values.values())), columns=list(values))


def lhs_points(bounds: dict[str, tuple[float, float]], n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {}
    for name, (lo, hi) in bounds.items():
        u = (rng.permutation(n) + rng.uniform(size=n)) / n
        cols[name] = lo + u * (hi - lo)
    return pd.DataFrame(cols)


def ishigami(x: np.ndarray) -> np.ndarray:
    """Ishigami function (a=7, b=0.1) of x in [-pi, pi]^3, shape (n, 3)."""
    return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


def write_result(folder: Path, kind: str, points: pd.DataFrame, replicates: int = 2, *, agents: bool = True,
                 base_scenario: str = "baseline", chunk_size: int = 100, extra_design: dict | None = None,
                 seed: int = 0, outcome_hook=None, paths_hook=None) -> Path:
    """Write one result folder for a design ``points`` (one row per design point).

    ``outcome_hook(runs)`` may change the runs table, ``paths_hook(paths)`` the agent paths, in place.
    """
    folder = Path(folder)
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    varied = list(points.columns)
    n_points = len(points)
    n_runs = n_points * replicates
    run = np.arange(n_runs)
    design_point, replicate = run // replicates, run % replicates
    seeds = run_seeds(run, replicate, seed, None)
    values = {name: points[name].to_numpy()[design_point] for name in varied}
    paths = simulate(values, seeds)
    cap = np.broadcast_to(CAP, (n_runs, len(COUNTRIES)))
    outcomes = summarise(YEARS, COUNTRIES, paths["burden"], paths["spending"], paths["gdp"], paths["threat"], cap)
    runs = pd.DataFrame({"run": run, "design_point": design_point, "replicate": replicate, "seed": seeds,
                         **values, **outcomes})
    runs["escalation"] = runs["escalation"].astype(str)
    runs["stability_radius"] = 0.7 + 2.0 * paths["spiral_rate"] + 0.01 * np.random.default_rng(seed).normal(
        size=n_runs)
    if outcome_hook is not None:
        outcome_hook(runs)
    if paths_hook is not None:
        paths_hook(paths)
    chunks = {}
    for i, start in enumerate(range(0, n_runs, chunk_size)):
        part = runs.iloc[start:start + chunk_size]
        tables = {"runs": pa.Table.from_pandas(part, preserve_index=False)}
        if agents:
            (folder / "agents").mkdir(exist_ok=True)
            sel = np.arange(start, start + len(part))
            rows = len(sel) * len(YEARS) * len(COUNTRIES)
            table = pd.DataFrame({
                "run": np.repeat(sel, len(YEARS) * len(COUNTRIES)),
                "year": np.tile(np.repeat(YEARS, len(COUNTRIES)), len(sel)),
                "country": np.tile(np.array(COUNTRIES), len(sel) * len(YEARS)),
                **{v: paths[v][sel].reshape(rows) for v in ("burden", "spending", "gdp", "capability", "threat",
                                                            "pressure", "backlash")},
            })
            tables["agents"] = pa.Table.from_pandas(table, preserve_index=False)
        sha = store.write_chunk(folder, i, tables)
        chunks[store.chunk_key(i)] = {"runs": [int(start), int(start + len(part))], "done": True, "sha256": sha}
    design = {"kind": kind, "varied": varied, "n_points": n_points, **(extra_design or {})}
    parameters = {name: ({"values": sorted(set(points[name].tolist()))} if kind == "grid" else
                         {"low": float(points[name].min()), "high": float(points[name].max()),
                          "distribution": "uniform"}) for name in varied}
    experiment = {"experiment": {"description": f"synthetic {kind} fixture", "base": base_scenario,
                                 "until": int(YEARS[-1])},
                  "fixed": {}, "parameters": parameters,
                  "design": {"kind": kind, **{("second_order" if k == "calc_second_order" else k): v
                                              for k, v in design.items() if k in ("samples", "n", "calc_second_order",
                                                                                   "seed")}},
                  "replicates": {"count": replicates, "root_seed": seed},
                  "keep": {"paths": agents, "variables": ["burden", "spending", "gdp", "capability", "threat",
                                                          "pressure", "backlash"]}}
    digest = hashlib.sha256(json.dumps(experiment, sort_keys=True).encode()).hexdigest()
    manifest = {
        "experiment_file": f"experiments/{folder.name}.toml", "experiment_hash": digest,
        "params_hash": digest, "design_hash": hashlib.sha256(points.to_csv().encode()).hexdigest(),
        "code_hash": digest, "data_hash": digest, "experiment": experiment, "base_scenario": base_scenario,
        "design": design,
        "replicates": replicates, "n_runs": n_runs, "chunk_size": chunk_size, "seeds": {"root": seed},
        "engine": "synthetic-fixture", "agent_units": UNITS, "versions": {},
        "code": {"git_commit": None, "git_dirty": None},
        "created_utc": "2025-01-01T00:00:00+00:00", "command": "fixtures_results.write_result", "chunks": chunks,
    }
    store.write_manifest(manifest, folder)
    return folder


def write_grid(folder: Path, replicates: int = 3, three: bool = True, **kw) -> Path:
    """Grid over us_demand x alliance_credibility (x threat_scale when ``three``), with agents."""
    values = {"us_demand": [0.02, 0.03, 0.035, 0.05], "alliance_credibility": [0.3, 0.5, 0.7, 0.9]}
    if three:
        values["threat_scale"] = [0.5, 1.0, 2.5]
    return write_result(folder, "grid", grid_points(values), replicates, **kw)


def write_lhs(folder: Path, n: int = 200, replicates: int = 1, **kw) -> Path:
    """Latin hypercube over four parameters (phase diagrams must pool over two of them)."""
    bounds = {"us_demand": (0.02, 0.05), "alliance_credibility": (0.3, 1.0), "threat_scale": (0.5, 2.5),
              "hostility_scale": (0.5, 1.5)}
    seed = kw.pop("seed", 0)
    kw.setdefault("extra_design", {"samples": n, "seed": seed})
    return write_result(folder, "lhs", lhs_points(bounds, n, seed=seed), replicates, **kw)


SOBOL_PROBLEM = {"num_vars": 3, "names": ["us_demand", "alliance_credibility", "threat_scale"],
                 "bounds": [[0.02, 0.05], [0.3, 1.0], [0.5, 2.5]], "dists": ["unif", "unif", "unif"]}


def write_sobol(folder: Path, n: int = 512, replicates: int = 2, calc_second_order: bool = True,
                **kw) -> Path:
    """Saltelli/Sobol design (SALib sample order) whose regional growth is an affine Ishigami function."""
    from SALib.sample import sobol as sobol_sample

    problem = SOBOL_PROBLEM
    x = sobol_sample.sample(dict(problem), n, calc_second_order=calc_second_order, seed=1)
    points = pd.DataFrame(x, columns=problem["names"])
    lo, hi = np.array(problem["bounds"]).T

    def hook(runs: pd.DataFrame) -> None:
        u = (runs[problem["names"]].to_numpy() - lo) / (hi - lo)
        runs["regional_spending_growth"] = 0.3 + 0.05 * ishigami(-np.pi + 2 * np.pi * u)

    extra = {"problem": problem, "n": n, "calc_second_order": calc_second_order, "seed": 1}
    kw.setdefault("agents", False)
    kw.setdefault("chunk_size", 2000)
    return write_result(folder, "sobol", points, replicates, extra_design=extra, outcome_hook=hook, **kw)


def standard_folders(root: Path) -> dict[str, Path]:
    """The result folders most chart tests draw: a 3-parameter grid (with agents), a 2-parameter grid,
    an LHS, an Ishigami Sobol design (no agents) and a one-parameter grid (no agents)."""
    root = Path(root)
    return {
        "grid": write_grid(root / "grid"),
        "grid2d": write_grid(root / "grid2d", three=False),
        "lhs": write_lhs(root / "lhs"),
        "sobol": write_sobol(root / "sobol"),
        "one": write_result(root / "one", "grid", grid_points({"us_demand": [0.02, 0.03, 0.04, 0.05]}), 4,
                            agents=False),
    }


def figure_texts(fig) -> str:
    """The figure's title and every axes' title and axis labels, one per line."""
    parts = [fig._suptitle.get_text() if fig._suptitle else ""]
    for ax in fig.axes:
        parts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    return "\n".join(parts)


def assert_labelled(fig, legend: bool = True) -> None:
    """A title, every visible axes titled or labelled on both axes of its row/column, a legend."""
    assert fig._suptitle is not None and fig._suptitle.get_text().strip()
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    assert axes
    assert any(ax.get_xlabel() for ax in axes) and any(ax.get_ylabel() for ax in axes)
    for ax in axes:
        assert ax.get_title() or ax.get_title(loc="left") or ax.get_xlabel(), ax
    if legend:
        assert fig.legends or any(ax.get_legend() for ax in fig.axes)


def interrupt(folder: Path, keys: list[str], delete: list[str] = ()) -> Path:
    """What an interrupted sweep leaves: chunks not marked done (their files deleted, or left stray)."""
    manifest = store.read_manifest(folder)
    for key in keys:
        manifest["chunks"][key]["done"] = False
    store.write_manifest(manifest, folder)
    for key in delete:
        for sub in store.CHUNK_DIRS:
            store.chunk_file(folder, sub, key).unlink(missing_ok=True)
    return folder


def assert_valid_image(path: Path) -> None:
    """A PNG has the PNG signature and decodes to an RGB(A) array; an SVG parses as XML with an <svg> root."""
    import xml.etree.ElementTree as ET

    import matplotlib.image as mpimg

    path = Path(path)
    assert path.is_file() and path.stat().st_size > 0, path
    if path.suffix == ".png":
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
        img = mpimg.imread(path)
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200 and img.shape[2] in (3, 4), img.shape
    elif path.suffix == ".svg":
        root = ET.parse(path).getroot()
        assert root.tag.endswith("svg"), root.tag
    else:
        raise AssertionError(f"unexpected image type {path}")
