"""Names and units of the model's variables: the one declaration that tables, charts and the browser read.

Per agent-year variables (the DataCollector's agent reporters and every ``agents`` table, in this
order) with their stored unit. Shares of GDP are stored as fractions (0.02 = 2%) and shown in %.
"""

from __future__ import annotations

AGENT_VARS: tuple[str, ...] = ("burden", "spending", "gdp", "capability", "threat", "pressure", "backlash")
"""Per agent-year variables, in table order."""

UNITS: dict[str, str] = {
    "burden": "share of GDP (0-1)",
    "spending": "US$ bn, constant 2023 prices",
    "gdp": "US$ bn, constant 2023 prices",
    "capability": "US$ bn, constant 2023 prices (perpetual inventory of spending)",
    "threat": "dimensionless",
    "pressure": "share of GDP (0-1)",
    "backlash": "dimensionless",
}
"""Stored unit of each agent variable."""
