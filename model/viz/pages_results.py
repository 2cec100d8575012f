"""Results tab: the charts of one or more result folders side by side.

A result folder is ``<results root>/<name>/`` holding ``manifest.json`` (written by ``armsrace
sweep``), ``runs/`` and ``plots/``. The root is ``$ARMSRACE_RESULTS_DIR`` (``armsrace viz --results``
sets it), else ``results/`` in the working directory. The charts are the PNG files in
``DIR/plots/``, the ones ``armsrace plot`` draws; a folder without them gets them drawn once with
:func:`model.charts.sweep.write_plots`. Charts of the same name are shown in one row, one column
per folder, so the same chart can be compared across folders.
"""

from __future__ import annotations

import os
from pathlib import Path

import solara

from model.batch import store
from model.errors import ParameterError

RESULTS_ENV = "ARMSRACE_RESULTS_DIR"
MAX_COLUMNS = 4


def results_root() -> Path:
    """The folder whose subfolders are offered: ``$ARMSRACE_RESULTS_DIR`` or ``./results``."""
    return Path(os.environ.get(RESULTS_ENV) or "results")


def result_folders(root: Path) -> list[Path]:
    """Subfolders of ``root`` holding a ``manifest.json``, by name."""
    return store.result_folders(root)


def chart_files(folder: Path) -> list[Path]:
    """The PNG charts in ``folder/plots``, by name."""
    return store.list_files(folder / "plots", "*.png")


def ensure_charts(folder: Path) -> list[Path]:
    """The folder's PNG charts, drawing them first with ``write_plots`` if there are none.

    Raises:
        RuntimeError: the charts are missing and cannot be drawn (message for the page).
    """
    found = chart_files(folder)
    if found:
        return found
    try:
        from model.charts.sweep import write_plots
    except ImportError as exc:
        raise RuntimeError(f"{folder.name} has no plots/ and the chart module is unavailable ({exc}).") from None
    write_plots(folder)
    found = chart_files(folder)
    if not found:
        raise RuntimeError(f"No charts could be drawn for {folder.name}.")
    return found


def describe(folder: Path) -> str:
    """One line from ``manifest.json``: description, design, number of runs, creation time."""
    try:
        manifest = store.read_manifest(folder)
    except ParameterError:
        return "manifest.json unreadable"
    if not isinstance(manifest, dict):
        return ""
    experiment = manifest.get("experiment")
    section = experiment.get("experiment", {}) if isinstance(experiment, dict) else {}
    design = manifest.get("design") if isinstance(manifest.get("design"), dict) else {}
    parts = [section.get("description"),
             f"{design.get('kind')} design over {', '.join(design.get('varied', []))}" if design.get("kind") else None,
             f"{manifest['n_runs']:,} runs" if isinstance(manifest.get("n_runs"), int) else None,
             str(manifest.get("created_utc", ""))[:16].replace("T", " ") or None]
    return " · ".join(p for p in parts if isinstance(p, str) and p)


def descriptions(folder: Path) -> dict[str, str]:
    """Chart stem -> one-line description, from ``plots/plots.json`` when it exists."""
    try:
        index = store.read_json(folder / "plots" / "plots.json")
        return {e["stem"]: str(e.get("description", "")) for e in index.get("plots", [])}
    except (ParameterError, AttributeError, KeyError, TypeError):
        return {}


def chart_title(stem: str) -> str:
    """'burden_fan' -> 'Burden fan'."""
    text = stem.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


@solara.component
def ResultsPage() -> None:
    """Pick result folders in the sidebar; their charts appear side by side, one row per chart."""
    root = results_root()
    refresh = solara.use_reactive(0)
    folders = solara.use_memo(lambda: result_folders(root), [refresh.value, str(root)])
    names = [f.name for f in folders]
    selected = solara.use_reactive(names[:1])
    chosen = [f for f in folders if f.name in selected.value][:MAX_COLUMNS]

    def load() -> dict[str, list[Path] | str]:
        """Chart files per chosen folder (drawn first where missing), or the reason there are none."""
        out: dict[str, list[Path] | str] = {}
        for folder in chosen:
            try:
                out[folder.name] = ensure_charts(folder)
            except Exception as exc:  # shown on the page; one bad folder must not hide the others
                out[folder.name] = str(exc) or type(exc).__name__
        return out

    task = solara.lab.use_task(load, dependencies=[tuple(str(f) for f in chosen), refresh.value],
                               raise_error=False)

    with solara.Sidebar():
        with solara.Card("Result folders", subtitle=str(root.resolve())):
            if names:
                solara.SelectMultiple("Folders to compare", values=selected, all_values=names,
                                      classes=["armsrace-results-select"])
                solara.Text(f"Up to {MAX_COLUMNS} folders side by side.", style={"font-size": "0.85em"})
            else:
                solara.Warning(f"No result folders (with manifest.json) in {root}. "
                               "Run 'armsrace sweep' first, or start 'armsrace viz --results DIR'.")
            solara.Button("Rescan folder", icon_name="mdi-refresh", text=True,
                          on_click=lambda: refresh.set(refresh.value + 1))

    solara.Markdown("## Results: charts side by side")
    if not chosen:
        solara.Info("Pick one or more result folders in the sidebar to compare their charts.")
        return
    charts = task.value if task.finished and task.value else {}
    with solara.Columns([1] * len(chosen)):
        for folder in chosen:
            with solara.Column(gap="0px"):
                solara.Markdown(f"### {folder.name}")
                solara.Text(describe(folder), style={"color": "#555", "font-size": "0.9em"})
                if isinstance(charts.get(folder.name), str):
                    solara.Error(charts[folder.name])
    if task.pending:
        solara.Text("Loading charts (drawing them where a folder has none yet)…")
        solara.ProgressLinear(True)
    files = {name: v for name, v in charts.items() if isinstance(v, list)}
    captions: dict[str, str] = {}  # in plots.json order of the first folder that lists the chart
    for folder in chosen:
        for stem, text in descriptions(folder).items():
            captions.setdefault(stem, text)
    stems = list(dict.fromkeys([s for s in captions if any(p.stem == s for v in files.values() for p in v)]
                               + sorted({p.stem for v in files.values() for p in v})))
    for stem in stems:
        with solara.Card(chart_title(stem), subtitle=captions.get(stem, ""), classes=["armsrace-results-row"],
                         margin=0, elevation=1, style={"margin-top": "12px"}):
            with solara.Columns([1] * len(chosen)):
                for folder in chosen:
                    path = next((p for p in files.get(folder.name, []) if p.stem == stem), None)
                    if path is None:
                        solara.Text("(not in this folder)", style={"color": "#888"})
                    else:
                        solara.Image(path, width="100%",
                                     classes=["armsrace-result-chart", f"armsrace-result-{folder.name}"])
