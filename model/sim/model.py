"""ArmsRaceModel: the seven countries as Mesa agents on a relation network, one step per year.

Build it from keyword arguments (``ArmsRaceModel(us_demand=0.035, rng=1)``, which is what
``mesa.batch_run`` and SolaraViz sliders do), from a :class:`~model.sim.params.Params`, or from a
scenario file (:meth:`ArmsRaceModel.from_scenario`). All randomness is drawn from the model's own
generator (``rng=``): every draw of the run at construction (see :func:`model.sim.inputs.draw_run`:
the 3 coefficient draws, North Korea's 2 uniforms, then the yearly shocks), so a run is fully
determined by its parameters and seed.

DataCollector reporters (the contract that tables, plots and the browser view read):

Model reporters, one row per year:
    ``year``; ``regional_burden`` (burdens averaged with start-year GDP weights, share; see
    :mod:`model.sim.outcomes`); ``regional_spending``
    (US$ bn, constant 2023); ``us_demand`` (burden demanded of allies, share);
    ``alliance_credibility`` (0-1); and per country (:data:`COUNTRY_REPORTERS`, ISO3 suffix)
    ``burden_JPN`` (share of GDP), ``spending_JPN`` (US$ bn, constant 2023), ``threat_JPN``
    (US$ bn of hostility-weighted rival spending; linear model: weighted rival burdens) and
    ``pressure_JPN`` (share of GDP), so that Mesa's ``make_plot_component`` can draw a country.
Agent reporters, one row per country-year:
    ``country`` (ISO3); ``burden`` (share of GDP); ``spending`` (US$ bn, constant 2023);
    ``gdp`` (US$ bn, constant 2023); ``capability`` (US$ bn); ``threat`` (US$ bn; linear model:
    share of GDP); ``pressure`` (share of GDP); ``backlash`` (dimensionless). Units:
    :data:`model.sim.units.UNITS`.

Mesa conventions it follows, so the model drops into Mesa's own tools (``mesa.batch_run``,
``SolaraViz``, ``make_plot_component``, ``make_space_component``): the space is a
:class:`mesa.discrete_space.Network` whose node ids are the integers 0..n-1 in the model's country
order, with the ISO code as the node attribute ``iso`` (find an agent with :meth:`ArmsRaceModel.agent`);
``scenario=`` takes a scenario name or a Mesa ``Scenario`` (SolaraViz passes one on Reset); ``seed=``
is Mesa's deprecated spelling of ``rng=`` and is handled as Mesa handles it.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from mesa import DataCollector, Model
from mesa.discrete_space import Network
from mesa.experimental.scenarios import Scenario as MesaScenario

from model.errors import ParameterError
from model.sim import dynamics
from model.sim.agents import CountryAgent
from model.sim.counterfactual import counterfactual_paths, ensemble_band, has_draws
from model.sim.inputs import RunDraws, build_inputs, draw_run
from model.sim.outcomes import Counterfactual, regional_burden, summarise
from model.sim.params import Params, check_seed, counterfactual
from model.sim.stability import response_radius
from model.sim.units import AGENT_VARS

COUNTRY_REPORTERS = ("burden", "spending", "threat", "pressure")
"""Agent variables also reported at model level per country, as ``<var>_<ISO3>`` (``burden_JPN``)."""


class ArmsRaceScenario(MesaScenario):
    """Mesa's Scenario for this model: a scenario file by name, plus parameter overrides and the seed.

    ``ArmsRaceScenario(name="nato_precedent_5", rng=1, us_demand=0.06)``; ``name=None``: the
    default parameters. Every :class:`ArmsRaceModel` keeps one as ``model.scenario``. Mesa's
    SolaraViz rebuilds the model on Reset from ``model_params`` alone, routing the keys that are
    fields of the model's scenario class into a new scenario: so a ``"name"`` entry of
    ``model_params`` (fixed, or a ``Select`` of names) is what keeps a named scenario across Reset.
    """

    name: str | None = None


class ArmsRaceModel(Model):
    """Military spending of seven Pacific powers under alliance pressure and perceived threat.

    Args:
        params: a complete parameter set; keyword arguments override it.
        rng: seed or numpy Generator for every random draw of the run.
        scenario: where the parameters start from: a scenario name (``armsrace scenarios``) or a
            path to a scenario file; or a Mesa ``Scenario`` (as SolaraViz passes on Reset): its
            ``rng`` seeds the run when ``rng`` is not given, its ``name`` field (an
            :class:`ArmsRaceScenario`) names the scenario file and its other fields override
            parameters. Default: the built-in defaults (or ``params``).
        seed: Mesa's deprecated spelling of ``rng`` (a FutureWarning, the same random streams).
        **kwargs: flat parameter names (see ``armsrace params``), e.g. ``us_demand=0.035``.

    Raises:
        ParameterError: an unknown parameter or scenario, a value out of bounds, or conflicting seeds.
    """

    def __init__(self, params: Params | None = None, rng: Any = None, scenario: Any = None,
                 seed: Any = None, **kwargs: Any) -> None:
        given_as = "seed" if seed is not None else "rng"
        rng, name, overrides = _resolve_scenario(scenario, rng, seed)
        if isinstance(rng, (bool, int, float, str, bytes, np.generic)):
            rng = check_seed(rng, given_as)  # numpy's own errors would not name the argument
        super().__init__(scenario=ArmsRaceScenario(name=name, rng=rng, **overrides))
        if name is not None:
            from model.sim.scenarios import load_scenario

            if params is not None:
                raise ParameterError("Pass either params= or scenario= (a scenario name), not both.")
            loaded = load_scenario(name)
            self.scenario_name, params = loaded.name, loaded.params
        else:
            self.scenario_name, loaded = None, None
        """The name of the scenario the parameters start from (None: the defaults or ``params``)."""
        self.scenario_file = loaded
        """The loaded scenario file (:class:`model.sim.scenarios.Scenario`), or None."""
        kwargs = {**overrides, **kwargs}
        if params is None:
            params = Params.from_kwargs(**kwargs)
        elif kwargs:
            params = params.replace(**kwargs)
        self.params = params
        self.draws = draw_run(self.rng, params["until"] - params["start_year"], len(params.countries))
        """The run's random draws (:func:`model.sim.inputs.draw_run`), taken before anything else."""
        self.inputs: dynamics.Inputs = build_inputs(params, draws=self.draws)
        x = self.inputs
        self.year = x.start_year
        self.snapshot = dynamics.start_state(x)
        """Every country's state at the start of the year being simulated (what agents perceive)."""
        self.noise = self.draws.noise
        self.sched = dynamics.schedule(x, self.year)
        self.space = Network(self._relation_graph(), random=self.random, layout=None)
        self.countries: list[CountryAgent] = [
            CountryAgent(self, iso, i, self.space[i]) for i, iso in enumerate(x.countries)]
        self._by_iso = {a.iso: a for a in self.countries}
        self.datacollector = DataCollector(
            model_reporters={
                "year": "year",
                "regional_burden": lambda m: m.regional_burden(),
                "regional_spending": lambda m: m.regional_spending(),
                "us_demand": lambda m: float(np.ravel(m.sched.demand)[0]),
                "alliance_credibility": lambda m: float(np.ravel(m.sched.credibility)[0]),
                **{f"{var}_{a.iso}": _attribute(a, var) for var in COUNTRY_REPORTERS for a in self.countries},
            },
            agent_reporters={"country": "iso", **{v: v for v in AGENT_VARS}},
        )
        self._counterfactual: tuple[Counterfactual | None, float] | None = None
        self.running = True
        self.datacollector.collect(self)

    @classmethod
    def from_scenario(cls, scenario: str, rng: Any = None, **overrides: Any) -> ArmsRaceModel:
        """Build from a scenario name (``experiments/scenarios/NAME.toml``) or path."""
        from model.sim.scenarios import load_scenario

        return cls(params=load_scenario(scenario).params, rng=rng, **overrides)

    def agent(self, iso: str) -> CountryAgent:
        """The agent of a country by ISO3 code (``model.agent("JPN")``).

        Raises:
            ParameterError: the country is not in this run.
        """
        try:
            return self._by_iso[str(iso).upper()]
        except KeyError:
            raise ParameterError(f"The country {iso!r} is not in this run; its countries: "
                                 f"{', '.join(self._by_iso)}.") from None

    def _relation_graph(self) -> nx.Graph:
        """The relation network: integer node ids (the country's index), each with its ``iso`` attribute.

        Undirected, one edge per related pair, with the attributes that apply: ``alliance`` (1.0),
        ``partnership`` (1.0), ``hostility_<ISO>`` (how much the other end's spending threatens
        that country, ``hostility_<observer>_<source>``) and ``hostility`` (the larger of the two:
        the rivalry's strength). Integer ids and an undirected graph are what Mesa's network drawing
        (``make_space_component``) expects.
        """
        x = self.inputs
        g = nx.Graph()
        g.add_nodes_from((i, {"iso": iso}) for i, iso in enumerate(x.countries))
        for i, a in enumerate(x.countries):
            for j in range(len(x.countries)):
                rel = {}
                if x.hostility[i, j] > 0:
                    rel[f"hostility_{a}"] = float(x.hostility[i, j])
                if x.alliance[i, j]:
                    rel["alliance"] = 1.0
                if x.partners[i, j]:
                    rel["partnership"] = 1.0
                if rel:
                    if g.has_edge(i, j):
                        g.edges[i, j].update(rel)
                    else:
                        g.add_edge(i, j, **rel)
        for _, _, data in g.edges(data=True):
            weights = [v for k, v in data.items() if k.startswith("hostility_")]
            if weights:
                data["hostility"] = max(weights)
        return g

    def regional_burden(self) -> float:
        """This year's burdens averaged with the start-year GDP weights (:func:`model.sim.outcomes.regional_burden`)."""
        burden = np.array([[a.burden for a in self.countries]])
        return float(regional_burden(burden, self.inputs.gdp0[None, :])[0])

    def regional_spending(self) -> float:
        return float(sum(a.spending for a in self.countries))

    def step(self) -> None:
        """One fiscal year: perceive, decide, advance, collect. Stops after ``until``."""
        if self.year >= self.inputs.until:
            self.running = False
            return
        self.year += 1
        self.sched = dynamics.schedule(self.inputs, self.year)
        self.noise_now = self.noise[self.year - self.inputs.start_year - 1]
        self.snapshot = dynamics.State(*(np.array([getattr(a, v) for a in self.countries])
                                         for v in dynamics.State._fields))
        agents = self.agents_by_type[CountryAgent]
        agents.do("perceive")
        agents.do("decide")
        agents.do("advance")
        self.datacollector.collect(self)
        if self.year >= self.inputs.until:
            self.running = False

    def run(self) -> ArmsRaceModel:
        """Step to the end of the horizon; returns self."""
        while self.running:
            self.step()
        return self

    def paths(self) -> dict[str, np.ndarray]:
        """Each agent variable as an array ``(years, countries)``, in the model's country order.

        Read straight from the DataCollector's records (one tuple per agent and collection:
        step, agent id, then the reporters in declaration order), which is ~50x faster than
        pivoting the agent table; the country column is checked against the model's order.
        """
        records = [row for rows in self.datacollector._agent_records.values() for row in rows]
        n = len(self.inputs.countries)
        countries = [row[2] for row in records[:n]]
        if countries != list(self.inputs.countries):
            raise RuntimeError(f"unexpected DataCollector record order: {countries}")
        values = np.array([row[3:] for row in records], dtype=float).reshape(-1, n, len(AGENT_VARS))
        return {v: values[:, :, k] for k, v in enumerate(AGENT_VARS)}

    def counterfactual(self) -> tuple[Counterfactual, float]:
        """The run's matched counterfactual over the whole horizon and the noise band (computed once).

        The same draws under the baseline's levers (:func:`model.sim.params.counterfactual`); a run
        that changes no lever is its own counterfactual.
        """
        if self._counterfactual is None:
            cf_params = counterfactual(self.params)
            if cf_params.values == self.params.values:
                cf = None
            else:
                draws = RunDraws(*(a[None] for a in self.draws)) if has_draws(cf_params) else None
                out = counterfactual_paths(cf_params, draws, 1)
                cf = Counterfactual(out["burden"][0], out["threat"][0])
            self._counterfactual = (cf, ensemble_band(cf_params))
        return self._counterfactual

    def summary(self) -> dict[str, Any]:
        """Per-run outcomes (see :mod:`model.sim.outcomes`) of the years simulated so far, against the
        matched counterfactual (:meth:`counterfactual`), with the stability radius at the start state
        under the run's policies (:mod:`model.sim.stability`)."""
        p = self.paths()
        years = np.arange(self.inputs.start_year, self.year + 1)
        cf, band = self.counterfactual()
        k = len(years)
        cf = (Counterfactual(p["burden"], p["threat"]) if cf is None
              else Counterfactual(cf.burden[:k], cf.threat[:k]))
        radius = float(response_radius(self.inputs, dynamics.start_state(self.inputs)))
        out = summarise(years, self.inputs.countries, p["burden"], p["spending"], p["gdp"], p["threat"],
                        self.inputs.burden_cap, cf=cf, radius=radius, band=band)
        values = {k: (v.item() if isinstance(v, np.ndarray) else v) for k, v in out.items()}
        # crossing years are years: integers, or None for "never" (NaN in the batch tables)
        return {k: (None if np.isnan(v) else int(v)) if k.startswith("cross_") else v for k, v in values.items()}

    def agent_table(self) -> pd.DataFrame:
        """Per agent-year table: ``year``, ``country`` and the variables in AGENT_VARS."""
        df = self.datacollector.get_agent_vars_dataframe().reset_index()
        df["year"] = df["Step"].astype(int) + self.inputs.start_year
        return df[["year", "country", *AGENT_VARS]].reset_index(drop=True)


def _attribute(agent: CountryAgent, var: str):
    """A model reporter reading one agent's variable (bound now, not to a loop variable)."""
    return lambda m: getattr(agent, var)


def _resolve_scenario(scenario: Any, rng: Any, seed: Any) -> tuple[Any, str | None, dict[str, Any]]:
    """``(rng, scenario name or None, parameter overrides)`` from the ``scenario``, ``rng`` and ``seed`` arguments."""
    if seed is not None:
        if rng is not None:
            raise ParameterError(f"Pass the seed once, as rng= (seed= is Mesa's deprecated name for it). "
                                 f"Got rng={rng!r} and seed={seed!r}.")
        warnings.warn("The use of the `seed` keyword argument is deprecated, use `rng` instead. "
                      "No functional changes.", FutureWarning, stacklevel=3)
        rng = seed
    if scenario is None:
        return rng, None, {}
    if isinstance(scenario, str | os.PathLike):
        return rng, os.fspath(scenario), {}
    if isinstance(scenario, MesaScenario):
        fields = {k: v for k, v in vars(scenario).items() if k not in ("rng", "model")}
        name = fields.pop("name", None)
        if scenario.rng is not None:
            if rng is not None and rng is not scenario.rng and rng != scenario.rng:
                raise ParameterError(f"The seed is given twice and differs: rng={rng!r}, "
                                     f"scenario.rng={scenario.rng!r}.")
            rng = scenario.rng
        return rng, (None if name is None else str(name)), fields
    raise ParameterError(f"The 'scenario' argument must be a scenario name, a path to a scenario file or a Mesa "
                         f"Scenario. Got {scenario!r} instead.")
