"""CountryAgent: one country, holding its state and calling the dynamics on its own row.

A year has three phases, run for all agents in turn by :class:`model.sim.model.ArmsRaceModel`, so
that every country decides on last year's state of the others: ``perceive`` (threat and
support), ``decide`` (pressure, new burden, backlash) and ``advance`` (economy). Each phase calls
the functions of :mod:`model.sim.dynamics` (``perceive``, ``choose``, ``grow``) on this agent's
row of the arrays: the same equations the batch engine applies to whole arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesa.discrete_space import FixedAgent

from model.sim import dynamics
from model.sim.params import BLOC, NAMES

if TYPE_CHECKING:
    from model.sim.model import ArmsRaceModel


class CountryAgent(FixedAgent):
    """A country in the model.

    Attributes:
        iso: ISO3 code (USA, JPN, KOR, PHL, CHN, PRK, RUS).
        index: position in the model's country arrays (also its node id in the network).
        burden: military spending as a share of GDP (0-1).
        spending: military spending, US$ bn at constant 2023 prices.
        gdp: GDP, US$ bn at constant 2023 prices.
        capability: military capability stock, US$ bn (perpetual inventory).
        threat: perceived threat (hostility-weighted rival spending in theatre, US$ bn; linear
            model: weighted rival burdens).
        pressure: US alliance pressure (share of GDP; 0 for non-allies).
        backlash: domestic backlash against fast increases (dimensionless, 0 = none).
    """

    def __init__(self, model: ArmsRaceModel, iso: str, index: int, cell) -> None:
        super().__init__(model)
        self.iso, self.index = iso, index
        self.name, self.bloc = NAMES[iso], BLOC[iso]
        self.cell = cell
        for field in dynamics.State._fields:
            setattr(self, field, float(getattr(model.snapshot, field)[index]))
        self._rows = slice(index, index + 1)
        self._seen: dynamics.Perception | None = None
        self._next_burden = self.burden

    def perceive(self) -> None:
        """Phase 1: threat from rivals' spending (and doctrine), support from credible allies."""
        m = self.model
        self._seen = dynamics.perceive(m.inputs, m.sched, m.snapshot, self._rows, m.noise_now[0, self._rows])
        self.threat = float(self._seen.level[0])

    def decide(self) -> None:
        """Phases 2-3: pressure from the US, desired burden, and the constrained new burden."""
        m = self.model
        pressure, new, backlash = dynamics.choose(m.inputs, m.sched, m.snapshot, self._seen, self._rows,
                                                  m.noise_now[1, self._rows])
        self.pressure, self._next_burden, self.backlash = float(pressure[0]), float(new[0]), float(backlash[0])

    def advance(self) -> None:
        """Phase 4: commit the new burden; GDP grows; spending and capability follow."""
        m = self.model
        self.burden = self._next_burden
        gdp, spending, capability = dynamics.grow(m.inputs, m.snapshot, self.burden, self._rows)
        self.gdp, self.spending, self.capability = float(gdp[0]), float(spending[0]), float(capability[0])
