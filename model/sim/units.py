"""Names and units of the model's variables: the one declaration that tables, charts and the browser read.

:data:`UNITS` is recorded beside every agent table (``agent_units`` in a run's ``metadata.json``
and a sweep's ``manifest.json``); :func:`shown` gives the unit a chart or the browser shows.

Per agent-year variables (the DataCollector's agent reporters and every ``agents`` table, in this
order) with their stored unit. Shares of GDP are stored as fractions (0.02 = 2%) and shown in %.
Threat is what :func:`model.sim.dynamics.perceive` reports (``threat_level``): in the log model (the
default, estimated) the hostility-weighted rival spending bearing on the country, in US$ bn (the
decision reads its logarithm); in the linear (Richardson) model the hostility-weighted sum of rival
burdens, in shares of GDP.
"""

from __future__ import annotations

AGENT_VARS: tuple[str, ...] = ("burden", "spending", "gdp", "capability", "threat", "pressure", "backlash")
"""Per agent-year variables, in table order."""

UNITS: dict[str, str] = {
    "burden": "share of GDP (0-1)",
    "spending": "US$ bn, constant 2023 prices",
    "gdp": "US$ bn, constant 2023 prices",
    "capability": "US$ bn, constant 2023 prices (perpetual inventory of spending)",
    "threat": "US$ bn, constant 2023 prices, of hostility-weighted rival spending bearing on the country "
              "(linear model: hostility-weighted rival burdens, share of GDP)",
    "pressure": "share of GDP (0-1)",
    "backlash": "dimensionless",
}
"""Stored unit of each agent variable."""

SHOWN: dict[str, tuple[str, float]] = {
    "burden": ("% of GDP", 100.0),
    "spending": ("US$ bn", 1.0),
    "gdp": ("US$ bn", 1.0),
    "capability": ("US$ bn", 1.0),
    "threat": ("US$ bn", 1.0),
    "pressure": ("percentage points of GDP", 100.0),
    "backlash": ("dimensionless", 1.0),
}
"""Unit each agent variable is shown in, and the factor from the stored value to the shown one (log model)."""
LINEAR_THREAT: tuple[str, float] = ("weighted rival burdens, % of GDP", 100.0)
"""How threat is shown in the linear (Richardson) model."""


def shown(var: str, linear: bool = False) -> tuple[str, float]:
    """``(unit, factor)`` in which ``var`` is shown (``linear``: the run uses the linear threat model)."""
    return LINEAR_THREAT if linear and var == "threat" else SHOWN[var]
