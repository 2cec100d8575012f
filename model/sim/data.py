"""Observed data the model starts from, read from the CSV copies in ``model/data/`` (see SOURCES.md).

* Military spending and burden: SIPRI Military Expenditure Database 2025
  ("SIPRI Military Expenditure Database 2025, https://www.sipri.org/databases/milex"),
  constant 2023 US$ and share of GDP, 1988-2024.
* GDP: the SIPRI-implied constant-2023-US$ GDP (spending / share), a CPI-deflated proxy for real GDP.
* Growth: World Bank WDI real GDP growth, mean of the available years 2015-2024.
* North Korea: no SIPRI series. The start state is the US State Department WMEAT 2016 estimate
  (2004-2014 average: 23.3% of a US$15 bn GDP), an *estimate* flagged as such everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from model.errors import ParameterError
from model.sim.params import COUNTRIES, DATA_DIR

PRK_BURDEN_ESTIMATE = 0.233
"""WMEAT 2016 edition, 2004-2014 average share of GDP (prk_milex_estimates.csv)."""
PRK_GDP_ESTIMATE = 15.0
"""US$ bn, the GDP that the same WMEAT report implies (prk_milex_estimates.csv)."""
PRK_GROWTH_ASSUMPTION = 0.01
"""No WDI series for North Korea; 1% a year is an assumption (Bank of Korea estimates are near 0-4%)."""


@cache
def history() -> pd.DataFrame:
    """Observed series, one row per country-year (1988-2024, where SIPRI has them).

    Returns:
        DataFrame with columns ``country``, ``year``, ``burden`` (share of GDP, 0-1), ``spending``
        (US$ bn, constant 2023 prices), ``gdp`` (US$ bn, constant 2023 prices, SIPRI-implied) and
        ``estimate`` (True where SIPRI marks the share as its own estimate). North Korea is absent.
    """
    raw = pd.read_csv(DATA_DIR / "sipri_milex.csv")
    raw = raw[raw["country_iso3"].isin(COUNTRIES)]
    wide = raw.pivot_table(index=["country_iso3", "year"], columns="variable", values="value")
    flags = (raw[raw["variable"] == "milex_share_gdp"].set_index(["country_iso3", "year"])["flag"]
             .notna())
    out = pd.DataFrame({
        "burden": wide["milex_share_gdp"],
        "spending": wide["milex_const2023usd"] / 1e3,
    }).dropna()
    out["gdp"] = out["spending"] / out["burden"]
    out["estimate"] = flags.reindex(out.index).fillna(False).astype(bool)
    out = out.reset_index().rename(columns={"country_iso3": "country"})
    return out[["country", "year", "burden", "spending", "gdp", "estimate"]]


@cache
def default_growth() -> dict[str, float]:
    """Real GDP growth per country (1/year): WDI mean of the available years 2015-2024."""
    g = pd.read_csv(DATA_DIR / "wdi_gdp_growth.csv")
    g = g[(g["year"] >= 2015) & g["value"].notna()]
    means = (g.groupby("country_iso3")["value"].mean() / 100).to_dict()
    return {iso: float(means.get(iso, PRK_GROWTH_ASSUMPTION)) for iso in COUNTRIES}


@dataclass(frozen=True)
class Observed:
    """Observed state in one year for a tuple of countries (arrays in that order)."""

    burden: np.ndarray
    gdp: np.ndarray
    spending_history: tuple[np.ndarray, ...]
    """Per country, spending (US$ bn) for every observed year up to the start year, oldest first."""


@cache
def observed(countries: tuple[str, ...], year: int) -> Observed:
    """The observed state of ``countries`` in ``year`` (North Korea: WMEAT estimate)."""
    h = history()
    burden, gdp, hist = [], [], []
    for iso in countries:
        if iso == "PRK":
            burden.append(PRK_BURDEN_ESTIMATE)
            gdp.append(PRK_GDP_ESTIMATE)
            hist.append(np.array([PRK_BURDEN_ESTIMATE * PRK_GDP_ESTIMATE]))
            continue
        rows = h[(h["country"] == iso) & (h["year"] <= year)].sort_values("year")
        if rows.empty or rows["year"].iloc[-1] != year:
            raise ParameterError(f"The 'start_year' parameter has no SIPRI data for {iso}. Got {year!r} instead.")
        burden.append(rows["burden"].iloc[-1])
        gdp.append(rows["gdp"].iloc[-1])
        hist.append(rows["spending"].to_numpy())
    b, g = np.array(burden), np.array(gdp)
    return Observed(burden=b, gdp=g, spending_history=tuple(hist))


def initial_capability(spending: np.ndarray, depreciation: np.ndarray | float) -> np.ndarray:
    """Capability stock (US$ bn) by perpetual inventory over one country's spending history.

    K = sum_t (1 - d)^(T - t) s_t over the observed years, plus the stock already there before
    the first year, taken as that year's steady state s_0 / d (so a country observed for one
    year only, like North Korea, starts at s / d).

    Args:
        spending: observed spending, oldest first (US$ bn), ``(..., L)``.
        depreciation: rate(s) d, broadcastable against ``spending[..., 0]``.

    Returns:
        Capability with the broadcast shape of ``depreciation`` and ``spending[..., 0]``.
    """
    d = np.asarray(depreciation, dtype=float)
    spending = np.asarray(spending, dtype=float)
    length = spending.shape[-1]
    ages = np.arange(length)[::-1]
    stock = ((1 - d[..., None]) ** ages * spending).sum(axis=-1)
    return stock + (1 - d) ** length * spending[..., 0] / d
