"""Same seed => identical tables; different seed with noise on => different tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
from helpers import simulate

from model.sim.model import ArmsRaceModel
from model.sim.params import Params

NOISY = Params.from_kwargs(threat_noise=0.2, budget_noise=0.1, us_demand=0.035)


def table(seed, params=NOISY) -> pd.DataFrame:
    return ArmsRaceModel(params=params, rng=seed).run().agent_table()


def test_same_seed_gives_identical_tables():
    pd.testing.assert_frame_equal(table(11), table(11), check_exact=True)


def test_different_seed_gives_different_tables_when_noise_is_on():
    a, b = table(11), table(12)
    assert not np.allclose(a["burden"], b["burden"])
    assert not np.allclose(a["threat"], b["threat"])


def test_without_noise_the_seed_does_not_matter():
    quiet = NOISY.replace(threat_noise=0.0, budget_noise=0.0)
    pd.testing.assert_frame_equal(table(1, quiet), table(2, quiet), check_exact=True)


def test_mesa_agents_and_array_dynamics_agree_bit_for_bit():
    """The Mesa driver and the whole-array driver run the same equations (noise included)."""
    model = ArmsRaceModel(params=NOISY, rng=5).run()
    countries = list(model.inputs.countries)
    arrays = simulate(NOISY, seeds=5)
    t = model.agent_table()
    for var in ("burden", "spending", "capability", "threat", "pressure", "backlash", "gdp"):
        mesa = t.pivot(index="year", columns="country", values=var)[countries].to_numpy()
        np.testing.assert_array_equal(mesa, arrays[var], err_msg=var)


def test_model_draws_only_from_its_own_generator():
    import random

    np.random.seed(0)
    random.seed(0)
    before_np, before_py = np.random.get_state(), random.getstate()
    table(3)
    after_np = np.random.get_state()
    assert after_np[0] == before_np[0] and (after_np[1] == before_np[1]).all() and after_np[2:] == before_np[2:]
    assert random.getstate() == before_py
