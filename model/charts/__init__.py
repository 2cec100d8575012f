"""Figures: one module per chart family; :mod:`model.charts.style` holds the palette, units and saving.

Importing any chart module first imports :mod:`model.charts.style`, which selects matplotlib's Agg
backend (files only) once for the package.
"""

from model.charts import style as _style  # noqa: F401  (the backend is chosen before any chart imports pyplot)
