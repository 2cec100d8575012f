"""CountryAgent: one country, holding its state and calling the dynamics on its own row.

A year has three phases, run for all agents in turn by :class:`model.sim.model.ArmsRaceModel`, so
that every country decides on last year's state of the others: ``perceive`` (threat),
``decide`` (pressure, desired burden, new burden, backlash) and ``advance`` (economy). Each
phase calls the functions of :mod:`model.sim.dynamics` on this agent's slice of the arrays: the
same equations the batch engine applies to whole arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import FixedAgent

from model.sim import dynamics
from model.sim.params import BLOC, NAMES

if TYPE_CHECKING:
    from model.sim.model import ArmsRaceModel


class CountryAgent(FixedAgent):
    """A country in the model.

    Attributes:
        iso: ISO3 code (USA, JPN, KOR, PHL, CHN, PRK, RUS).
        index: position in the model's country arrays.
        burden: military spending as a share of GDP (0-1).
        gdp: GDP, US$ bn at constant 2023 prices.
        spending: military spending, US$ bn at constant 2023 prices.
        capability: military capability stock, US$ bn (perpetual inventory).
        threat: perceived threat (dimensionless).
        pressure: US alliance pressure (share of GDP; 0 for non-allies).
        backlash: domestic backlash against fast increases (dimensionless, 0 = none).
    """

    def __init__(self, model: ArmsRaceModel, iso: str, index: int, cell) -> None:
        super().__init__(model)
        self.iso, self.index = iso, index
        self.name, self.bloc = NAMES[iso], BLOC[iso]
        self.cell = cell
        s = model.snapshot
        self.burden = float(s.burden[index])
        self.gdp = float(s.gdp[index])
        self.spending = float(s.spending[index])
        self.capability = float(s.capability[index])
        self.threat = float(s.threat[index])
        self.pressure = float(s.pressure[index])
        self.backlash = float(s.backlash[index])
        self._next_burden = self.burden

    def _row(self, a: np.ndarray) -> np.ndarray:
        return a[..., self.index:self.index + 1, :]

    def _own(self, a: np.ndarray) -> np.ndarray:
        return a[..., self.index:self.index + 1]

    def perceive(self) -> None:
        """Phase 1: threat from rivals' capability (and doctrine), given allies' credible support."""
        m, x, sched = self.model, self.model.inputs, self.model.sched
        hostile, friendly = dynamics.projections(m.snapshot.burden, m.snapshot.capability,
                                                 x.theatre_share, sched.doctrine, x.linear)
        threat = dynamics.perceived_threat(self._row(x.hostility), self._row(sched.support), hostile,
                                           friendly, x.hostility_scale, self._own(sched.exo), x.linear)
        shock = dynamics.threat_shock(x.threat_noise, self._own(m.noise_now[0]))
        self.threat = float((threat * shock)[0])

    def decide(self) -> None:
        """Phases 2-3: pressure from the US, desired burden, and the constrained new burden."""
        m, x, sched = self.model, self.model.inputs, self.model.sched
        own = self._own
        burden = own(m.snapshot.burden)
        pressure = dynamics.alliance_pressure(own(x.is_ally), x.insistence, sched.demand, burden)
        added = dynamics.allied_added_burden(self._row(x.lead), m.snapshot.burden, x.burden0,
                                             m.snapshot.gdp, own(m.snapshot.gdp))
        desired = dynamics.desired_burden(own(sched.baseline), own(x.sensitivity), np.array([self.threat]),
                                          own(x.compliance), sched.demand, own(x.shifting), added)
        shock = dynamics.budget_shock(x.budget_noise, burden, own(m.noise_now[1]))
        lower = np.maximum(own(x.burden_floor), own(sched.floor))
        new = dynamics.decide(burden, desired, own(x.speed), own(x.fiscal_drag), own(x.debt),
                              np.array([self.backlash]), own(x.max_change), lower, own(x.burden_cap), shock)
        self.backlash = float(dynamics.update_backlash(np.array([self.backlash]), burden, new,
                                                       own(x.backlash_gain), x.backlash_decay)[0])
        self.pressure = float(pressure[0])
        self._next_burden = float(new[0])

    def advance(self) -> None:
        """Phase 4: commit the new burden; GDP grows; spending and capability follow."""
        x = self.model.inputs
        own = self._own
        self.burden = self._next_burden
        burden = np.array([self.burden])
        gdp = dynamics.grow_gdp(np.array([self.gdp]), own(x.growth), x.crowding_out, burden, own(x.burden0))
        spending = burden * gdp
        self.capability = float(dynamics.accumulate(np.array([self.capability]), spending, x.depreciation)[0])
        self.gdp, self.spending = float(gdp[0]), float(spending[0])
