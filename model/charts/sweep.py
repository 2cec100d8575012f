"""Every chart of a sweep result folder, written by :func:`write_plots` (``armsrace plot``).

A result folder written by ``armsrace sweep`` (its layout is the contract of
:mod:`model.batch.store`) is read through :func:`model.batch.store.load_results`: only the chunks
the manifest marks done, so charts and the sweep agree on an interrupted folder; a chart of an
unfinished sweep says so ("Unfinished sweep: x of y runs"). One module per chart family draws:
:mod:`model.charts.phase` (phase diagrams, response curves), :mod:`model.charts.fan`,
:mod:`model.charts.distributions` and :mod:`model.charts.sobol`.

Replicates are aggregated per chart and the aggregation is stated on it: phase diagrams show the
share of runs in a class or the median of a numeric outcome per cell; Sobol indices
(:func:`model.analysis.sensitivity.sobol_table`) use the mean of each design point's replicates
(SALib's estimators need one value per sample point), over the complete Saltelli blocks of the design.

:func:`write_plots` writes every chart that applies into ``DIR/plots/`` (atomically, through
:func:`model.batch.store.staged_output`); it is the API the browser results page calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from model.analysis.sensitivity import results_design, sobol_table
from model.batch.store import Results, load_results, staged_output, write_csv, write_json
from model.charts.distributions import outcome_distributions
from model.charts.fan import fan_chart
from model.charts.phase import phase_diagram, response_curve
from model.charts.sobol import sobol_indices
from model.charts.style import check_formats, save_figure
from model.errors import ParameterError


def charts(res: Results) -> list[tuple[str, str, Any]]:
    """Every chart that applies to a result: ``(file stem, description, figure factory)``."""
    out: list[tuple[str, str, Any]] = []
    if len(res.varied) >= 2:
        out += [("phase_escalation", "Most frequent escalation class over the first two varied parameters",
                 lambda: phase_diagram(res, outcome="escalation")),
                ("phase_spiral_share", "Share of runs ending in a spiral over the first two varied parameters",
                 lambda: phase_diagram(res, outcome="spiral_share")),
                ("phase_regional_spending_growth", "Median regional spending growth over the first two varied "
                 "parameters", lambda: phase_diagram(res, outcome="regional_spending_growth"))]
    elif len(res.varied) == 1:
        out += [("response_escalation", "Escalation class shares against the varied parameter",
                 lambda: response_curve(res, outcome="escalation")),
                ("response_regional_spending_growth", "Regional spending growth against the varied parameter",
                 lambda: response_curve(res, outcome="regional_spending_growth"))]
    if res.has_agents:
        out.append(("fan_chart", "Median and 5-95% band of each country's burden path over all runs",
                    lambda: fan_chart(res)))
    out.append(("outcome_distributions", "Escalation shares, regional growth, security-dilemma index and "
                "allies' final burdens over all runs", lambda: outcome_distributions(res)))
    return out


def _has_complete_block(res: Results) -> bool:
    """False only for an unfinished Sobol sweep without any complete Saltelli block yet (no indices)."""
    try:
        results_design(res)
    except ParameterError:
        if res.incomplete_note:
            return False
        raise
    return True


def write_plots(result_dir: str | Path, out: str | Path | None = None,
                formats: Iterable[str] | str = ("png", "svg"), force: bool = False) -> list[Path]:
    """Write every applicable chart of a sweep result into ``out`` (default ``DIR/plots``).

    Charts: phase diagrams (two or more varied parameters) or response curves (one), the fan chart
    (when agent tables exist), outcome distributions and, for Sobol designs, ``sobol_indices`` plus
    ``sobol_indices.csv`` (of an unfinished sweep: from its complete Saltelli blocks, if any).
    ``plots.json`` lists the files with a one-line description each. The folder is written
    atomically (:func:`model.batch.store.staged_output`): files already there are never replaced, except
    this command's own earlier charts with ``force``.

    Returns:
        Paths of the written files (in ``out``).

    Raises:
        ParameterError: bad result folder, bad format, or unwritable output folder.
    """
    formats = check_formats(formats)
    res = load_results(result_dir)
    out = Path(out) if out is not None else res.path / "plots"
    index = []
    with staged_output(out, command="plot", force=force, expect=("plots.json",)) as stage:
        for stem, description, make in charts(res):
            index.append({"stem": stem, "description": description,
                          "files": save_figure(make(), stage, stem, formats)})
        if res.kind == "sobol" and _has_complete_block(res):
            table = sobol_table(res)
            if not table.empty:
                write_csv(table, stage / "sobol_indices.csv")
                index.append({"stem": "sobol_indices",
                              "description": "First- and total-order Sobol indices with 95% intervals (the table: "
                                             "also second order, for second-order designs)",
                              "files": [*save_figure(sobol_indices(res, table=table), stage, "sobol_indices",
                                                     formats), "sobol_indices.csv"]})
        write_json({"result_dir": str(res.path), "experiment_hash": res.manifest.get("experiment_hash"),
                    "n_runs": len(res.runs), "expected_runs": res.expected_runs, "plots": index},
                   stage / "plots.json")
        names = [f for entry in index for f in entry["files"]] + ["plots.json"]
    return [out / n for n in names]

