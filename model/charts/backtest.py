"""Charts of the backtest (:mod:`model.analysis.backtest`): forecasts against the data, and the rolling ratios.

Plot functions read a result and return a Figure; callers save them.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from model.analysis.backtest import LABELS, VARIABLES, Backtest, Rolling
from model.charts.style import COUNTRY_COLORS as COLORS
from model.charts.style import OKABE_ITO
from model.sim.params import NAMES

STYLES = {"last": ("--", "0.45"), "trend": (":", "0.2"), "rw_drift": ("-.", "0.55"), "last_burden_gdp": ("--", "0.7")}
"""Line style and grey of each naive forecast (the model is drawn in the country's colour)."""


def plot_backtest(result: Backtest, variable: str = "burden") -> Figure:
    """Actual vs the scenario model vs the naive forecasts, one panel per scored country.

    Args:
        result: a :class:`~model.analysis.backtest.Backtest` (one origin).
        variable: "burden" (% of GDP) or "spending" (US$ bn, constant 2023 prices).
    """
    unit, factor = VARIABLES[variable]
    fc = result.forecasts[result.forecasts["variable"] == variable]
    countries = [c for c in result.params.countries if c in set(fc["country"])]
    ncol = min(3, len(countries))
    nrow = int(np.ceil(len(countries) / ncol))
    fig = Figure(figsize=(4.4 * ncol, 3.3 * nrow + 1.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    for ax, iso in zip(axes, countries):
        d = fc[fc["country"] == iso]
        ax.plot(d["year"], d["actual"] * factor, "-o", color="black", ms=2.5, lw=1.4, label="actual (SIPRI)")
        ax.plot(d["year"], d["model"] * factor, "-", color=COLORS.get(iso, "C0"), lw=2.2, label=LABELS["model"])
        for f, (style, grey) in STYLES.items():
            if d[f].notna().any():
                ax.plot(d["year"], d[f] * factor, style, color=grey, lw=1.2, label=LABELS[f])
        row = result.table[(result.table["country"] == iso) & (result.table["variable"] == variable)].iloc[0]
        ax.set_title(f"{NAMES[iso]}: model/last = {row['ratio_last']:.2f}", fontsize=10)
        ax.set_xlabel("Year")
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
    for ax in axes[len(countries):]:
        ax.set_visible(False)
    # one legend entry for the model, drawn in black: its colour differs per panel (the country's)
    handles, labels = axes[0].get_legend_handles_labels()
    handles[1] = handles[1].__class__([], [], color="black", lw=2.2)
    fig.legend(handles, [*labels[:1], f"{labels[1]} (country colour)", *labels[2:]], loc="outside lower center",
               ncol=3, fontsize=8.5)
    what = "Military burden" if variable == "burden" else "Military spending"
    fig.suptitle(f"Backtest from {result.origin}: {what.lower()} ({unit}); estimated on "
                 f"{result.train[0]}-{result.train[1]}, scored {result.test[0]}-{result.test[1]}", fontsize=12)
    return fig


def plot_rolling(result: Rolling) -> Figure:
    """Geometric-mean RMSE ratio to the last value per origin, with bootstrap 95% intervals, per variable."""
    s = result.summary
    variables = list(dict.fromkeys(s["variable"]))
    fig = Figure(figsize=(6.2 * len(variables), 4.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(variables), sharey=True, squeeze=False)).ravel()
    for ax, var in zip(axes, variables):
        d = s[(s["variable"] == var) & (s["origin"] != "all")]
        allrow = s[(s["variable"] == var) & (s["origin"] == "all")].iloc[0]
        x = d["origin"].astype(int).to_numpy()
        lose = d["geo_ratio"].to_numpy() > 1
        ax.errorbar(x, d["geo_ratio"], yerr=[d["geo_ratio"] - d["lo"], d["hi"] - d["geo_ratio"]], fmt="none",
                    ecolor="0.6", capsize=3, lw=1)
        ax.scatter(x[~lose], d["geo_ratio"].to_numpy()[~lose], color=OKABE_ITO["blue"], zorder=3,
                   label="model better")
        ax.scatter(x[lose], d["geo_ratio"].to_numpy()[lose], color=OKABE_ITO["vermillion"], marker="s", zorder=3,
                   label="last value better")
        ax.axhline(1.0, color="black", lw=1)
        ax.axhspan(allrow["lo"], allrow["hi"], color=OKABE_ITO["blue"], alpha=0.12,
                   label=f"all origins: {allrow['geo_ratio']:.2f} [{allrow['lo']:.2f}, {allrow['hi']:.2f}]")
        ax.set_yscale("log")
        ax.set_title(f"{var} ({'pp of GDP' if var == 'burden' else 'US$ bn'})", fontsize=11)
        ax.set_xlabel("Origin (last training year)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="upper left")
    axes[0].set_ylabel("RMSE model / RMSE last value\n(geometric mean over countries; < 1: model better)")
    fig.suptitle("Rolling backtest of the scenario model: every origin estimated anew, forecast to 2024 "
                 "(bars: bootstrap 95% over countries)", fontsize=11)
    return fig
