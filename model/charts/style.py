"""The look of every figure, defined once: palette, display units, titles, the backend and saving.

Colours follow the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), whose eight
colours stay distinguishable under the common colour-vision deficiencies. Countries, escalation
classes, blocs and overlaid experiments each get fixed colours from it; the charts of
:mod:`model.charts` and the browser view (:mod:`model.viz`) read them from here.

Matplotlib's non-interactive Agg backend is selected here, once for the package (charts are written
to files, and the browser view renders PNGs); every module that draws imports this one first.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: the one place the package chooses a backend

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from model.batch.store import write_figure  # noqa: E402
from model.errors import ParameterError  # noqa: E402
from model.sim.params import NAMES, specs  # noqa: E402

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
"""The eight Okabe-Ito colours; every colour of the package's charts is one of these (or a grey)."""
_C = OKABE_ITO

COUNTRY_COLORS = {"USA": _C["blue"], "JPN": _C["vermillion"], "KOR": _C["sky_blue"], "PHL": _C["orange"],
                  "CHN": _C["reddish_purple"], "PRK": _C["black"], "RUS": _C["bluish_green"]}
"""One colour per country, in every figure and in the browser view."""
ESCALATION_COLORS = {"stable": _C["bluish_green"], "buildup": _C["orange"], "spiral": _C["vermillion"]}
"""One colour per escalation class (green: settles; orange: settles higher; vermillion: keeps rising)."""
BLOC_COLORS = {"US alliance": _C["blue"], "rival": _C["reddish_purple"]}
"""Blocs (alliance ties, partnership ties and node outlines in the network view)."""
RIVALRY_COLOR = _C["vermillion"]
"""Hostility ties in the network view."""
EXPERIMENT_COLORS = (_C["blue"], _C["vermillion"], _C["bluish_green"], _C["reddish_purple"], _C["orange"],
                     _C["sky_blue"], _C["black"], _C["yellow"])
"""Colours of overlaid series (experiments, scenarios), in order; countries keep :data:`COUNTRY_COLORS`."""
SOBOL_COLORS = {"S1": _C["sky_blue"], "ST": _C["blue"]}
"""First-order and total-order Sobol indices."""
REFERENCE_LINES = {0.02: "2% (current expectation)", 0.035: "3.5% (US ask)", 0.05: "5% (NATO 2035)"}
"""Burden levels marked on burden charts (share of GDP) and their labels."""
FORMATS = ("png", "svg", "pdf")
"""Image formats the chart commands write."""


# ----------------------------------------------------------------------------------------------
# Names and units


@dataclass(frozen=True)
class Quantity:
    """How to show a column: axis label, unit, and the factor from stored to shown values."""

    label: str
    unit: str = ""
    scale: float = 1.0

    @property
    def axis(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label


def outcome_quantity(name: str) -> Quantity:
    """Display label, unit and scale of an outcome column (shares of GDP are shown in %)."""
    fixed = {
        "escalation": Quantity("Escalation class", "0 stable, 1 buildup, 2 spiral"),
        "escalation_code": Quantity("Escalation class", "0 stable, 1 buildup, 2 spiral"),
        "spiral_share": Quantity("Runs ending in a spiral", "% of runs", 100),
        "escalating_share": Quantity("Runs ending in a buildup or spiral", "% of runs", 100),
        "regional_burden_start": Quantity("Regional military burden at the start", "% of GDP", 100),
        "regional_burden_end": Quantity("Regional military burden at the end", "% of GDP", 100),
        "regional_spending_growth": Quantity("Regional military spending growth over the run", "%", 100),
        "security_dilemma_index": Quantity("Security-dilemma index", "share of countries, 0-1"),
        "stability_radius": Quantity("Stability radius at the start",
                                     "spectral radius of the year-on-year map of burdens; <1 damped"),
    }
    if name in fixed:
        return fixed[name]
    parts = name.split("_")
    iso = parts[-1].upper()
    country = NAMES.get(iso, iso)
    if name.startswith("final_burden_"):
        return Quantity(f"{country}: final burden", "% of GDP", 100)
    if name.startswith("peak_burden_"):
        return Quantity(f"{country}: peak burden", "% of GDP", 100)
    if name.startswith("cross_"):
        level = name[len("cross_"):-len(iso) - 1].replace("_", ".").replace("pct", "%")
        return Quantity(f"{country}: first year at {level} of GDP", "year")
    return Quantity(name.replace("_", " "))


def param_quantity(name: str) -> Quantity:
    """Axis label of a varied parameter, with its unit (shares of GDP shown in %)."""
    spec = specs().get(name)
    if spec is None:
        return Quantity(name)
    if spec.unit == "share of GDP":
        return Quantity(name, "% of GDP", 100)
    return Quantity(name, spec.unit)


def suptitle(fig: Figure, text: str, fontsize: float = 11) -> None:
    """Figure title with each line wrapped to the figure width (about 10 characters an inch)."""
    width = max(int(fig.get_figwidth() * 120 / fontsize), 30)
    fig.suptitle("\n".join(textwrap.fill(line, width) for line in text.split("\n")), fontsize=fontsize)


def text_color(rgba: tuple[float, ...]) -> str:
    """Black or white, whichever reads on a cell of colour ``rgba`` (its luma, ITU-R BT.601)."""
    return "white" if 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 0.55 else "black"


def fmt(v: float) -> str:
    return f"{v:.3g}"



# ----------------------------------------------------------------------------------------------
# Files


def check_formats(formats: Iterable[str] | str) -> tuple[str, ...]:
    """Normalise image formats (``"png,svg"`` or a sequence); raise ParameterError on unknown ones."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out = tuple(dict.fromkeys(f.strip().lower().lstrip(".") for f in items if f.strip()))
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise ParameterError(f"The '--format' option must be a comma-separated list of {', '.join(FORMATS)}. "
                             f"Got {','.join(items) if items else ''!r} instead.")
    return out


def save_figure(fig: Figure, folder: Path, stem: str, formats: Sequence[str] = ("png",),
                dpi: float = 130) -> list[str]:
    """Save ``fig`` as ``stem.<fmt>`` for each format in ``folder``, close it; returns file names.

    The only place figures are saved: ``folder`` is an output folder staged by
    :func:`model.batch.store.staged_output`, and the file is written by :func:`model.batch.store.write_figure`.
    ``dpi`` applies to PNG (vector formats have none).
    """
    names = []
    try:
        for ext in formats:
            write_figure(fig, Path(folder) / f"{stem}.{ext}", dpi=dpi if ext == "png" else None)
            names.append(f"{stem}.{ext}")
    finally:
        plt.close(fig)
    return names

