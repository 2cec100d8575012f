"""The backtest's figure: actual burden or spending against the calibrated model and the naive forecasts
(:mod:`model.analysis.backtest`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from model.analysis.backtest import LABELS, VARIABLES, Backtest
from model.charts.style import COUNTRY_COLORS
from model.sim.params import NAMES


def plot_backtest(result: Backtest, variable: str = "burden") -> Figure:
    """Actual vs model vs naive forecasts, one panel per country.

    Args:
        result: a :class:`Backtest`.
        variable: "burden" (% of GDP) or "spending" (US$ bn, constant 2023 prices).
    """
    unit, factor = VARIABLES[variable]
    fc = result.forecasts[result.forecasts["variable"] == variable]
    countries = [c for c in result.params.countries if c in set(fc["country"])]
    ncol = min(3, len(countries))
    nrow = int(np.ceil(len(countries) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.4 * ncol, 3.3 * nrow + 0.9), layout="constrained",
                             squeeze=False)
    first, last = result.train
    for ax, iso in zip(axes.flat, countries):
        d = fc[fc["country"] == iso]
        ax.axvspan(last, d["year"].max(), color="0.93", lw=0)
        ax.plot(d["year"], d["actual"] * factor, "-o", color="black", ms=2.5, lw=1.4, label="actual (SIPRI)")
        ax.plot(d["year"], d["model"] * factor, "-", color=COUNTRY_COLORS.get(iso, "0.3"), lw=2.0,
                label=LABELS["model"])
        ax.plot(d["year"], d["last"] * factor, "--", color="0.45", lw=1.2, label=LABELS["last"])
        ax.plot(d["year"], d["trend"] * factor, ":", color="0.2", lw=1.4, label=LABELS["trend"])
        row = result.table[(result.table["country"] == iso) & (result.table["variable"] == variable)].iloc[0]
        ax.set_title(f"{NAMES[iso]} ({iso}) — best: {row['best_rmse']}", fontsize=10)
        ax.set_xlabel("Year")
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(countries):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=9)
    what = "Military burden" if variable == "burden" else "Military spending"
    fig.suptitle(f"Backtest: {what.lower()} ({unit}), calibrated {first}-{last} "
                 f"({result.calibration.objective}), tested {last + 1}-{result.test[1]} (shaded)", fontsize=12)
    return fig
