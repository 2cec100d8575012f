"""Seeded golden values: the headline numbers of every shipped scenario and of the main experiment.

``tests/test_golden.py`` recomputes them and compares with ``tests/golden.json``: numbers to 1e-12
(relative) and each table's sha256, so a refactoring that changes any result, by any bit, fails.
When the model is changed on purpose, regenerate the file and say why in the commit::

    .venv/bin/python tests/golden.py --update

Imports of the package go through :func:`compute` only, so the file survives moves of modules as
long as the names it calls exist.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

GOLDEN = Path(__file__).with_name("golden.json")
MAIN_EXPERIMENT = Path(__file__).resolve().parent.parent / "experiments" / "escalation.toml"
SEED = 0
NOISY = {"threat_noise": 0.05, "budget_noise": 0.02}
"""Shocks added to a second run of each scenario, so that the seeded noise path is pinned too."""


def table_hash(df: pd.DataFrame) -> str:
    """sha256 of a table's column names, dtypes and values (bit for bit)."""
    h = hashlib.sha256()
    for col in df.columns:
        values = df[col].to_numpy()
        h.update(f"\0{col}\0{values.dtype}\0".encode())
        h.update(values.astype(str).astype("S").tobytes() if values.dtype == object else values.tobytes())
    return h.hexdigest()


def _headline(summary: dict) -> dict:
    keep = ("escalation", "regional_burden_end", "regional_spending_growth", "security_dilemma_index")
    out = {k: summary[k] for k in keep}
    out.update({k: v for k, v in summary.items() if k.startswith("final_burden_")})
    return out


def compute() -> dict:
    """Every golden value, freshly computed."""
    from model.api import ArmsRaceModel, list_scenarios, load_experiment, run_batch

    out: dict = {"scenarios": {}, "main_experiment": {}}
    for sc in list_scenarios():
        for label, extra in (("deterministic", {}), ("noisy", NOISY)):
            params = sc.params.replace(**extra) if extra else sc.params
            m = ArmsRaceModel(params=params, rng=SEED).run()
            table = m.agent_table()
            out["scenarios"][f"{sc.name}/{label}"] = {"agents_sha256": table_hash(table),
                                                      **_headline(m.summary())}
    exp = load_experiment(MAIN_EXPERIMENT)
    run, point, rep = exp.run_index(0, exp.n_runs)
    varied = {c: exp.points[c].to_numpy()[point] for c in exp.points.columns}
    seeds = exp.seeds(run, rep)
    runs, agents = run_batch(exp.base, varied, seeds)
    counts = runs["escalation"].value_counts()
    out["main_experiment"] = {
        "n_runs": int(len(runs)),
        "runs_sha256": table_hash(runs),
        "agents_sha256": table_hash(agents),
        "stable": int(counts.get("stable", 0)), "buildup": int(counts.get("buildup", 0)),
        "spiral": int(counts.get("spiral", 0)),
        "mean_regional_spending_growth": float(runs["regional_spending_growth"].mean()),
        "mean_final_burden_jpn": float(runs["final_burden_jpn"].mean()),
    }
    return json.loads(json.dumps(out, default=_plain))


def _plain(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    raise TypeError(type(o).__name__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite tests/golden.json")
    args = parser.parse_args(argv)
    fresh = compute()
    if args.update:
        GOLDEN.write_text(json.dumps(fresh, indent=1, sort_keys=True) + "\n")
        print(f"wrote {GOLDEN}")
        return 0
    old = json.loads(GOLDEN.read_text())
    print("unchanged" if old == fresh else "CHANGED")
    return 0 if old == fresh else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
