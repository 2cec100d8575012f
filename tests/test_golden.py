"""Seeded headline numbers of every shipped scenario and of the main experiment, pinned.

A change of any result, by any bit, fails here; see ``tests/golden.py`` for regenerating the
values when the model is changed on purpose.
"""

from __future__ import annotations

import json
import math

import pytest
from golden import GOLDEN, compute


@pytest.fixture(scope="module")
def fresh():
    return compute()


def _pairs(old, new, path=""):
    if isinstance(old, dict):
        assert set(old) == set(new), f"{path}: keys {sorted(set(old) ^ set(new))}"
        for k in old:
            yield from _pairs(old[k], new[k], f"{path}/{k}")
    else:
        yield path, old, new


def test_golden_values_are_unchanged(fresh):
    old = json.loads(GOLDEN.read_text())
    assert old["scenarios"], "no scenario pinned"
    for path, a, b in _pairs(old, fresh):
        if isinstance(a, float) and not isinstance(b, str):
            assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15), f"{path}: {a!r} -> {b!r}"
        else:
            assert a == b, f"{path}: {a!r} -> {b!r}"


def test_every_shipped_scenario_is_pinned(fresh):
    from model.api import list_scenarios

    names = {s.name for s in list_scenarios()}
    assert {k.split("/")[0] for k in fresh["scenarios"]} == names
