"""Results tab: one chart at a time across the chosen result folders, stacked full width.

The folders offered are those directly under the results root of the three kinds ``armsrace``
writes (:func:`model.batch.store.browsable_folders`): sweeps (``manifest.json``; charts in
``plots/``, drawn once with :func:`model.charts.sweep.write_plots` where missing), runs
(``armsrace run``: ``summary.json`` and ``metadata.json``; its PNGs) and comparisons
(``armsrace compare``: ``compare.json``; its PNGs). The root is ``$ARMSRACE_RESULTS_DIR``
(``armsrace viz --results`` sets it), else ``results/`` in the working directory.

Pick folders and one chart type; that chart of each folder is shown one below the other at full
width, so the same chart can be compared across folders at a readable size.

Safety: names of folders and charts are shown as plain text (never as Markdown, HTML or a Vue
template: a folder named ``{{ ... }}`` is text); a symlinked folder or chart, or anything resolving
outside the root, is never listed, read or written into (the store's listing functions refuse them).
"""

from __future__ import annotations

import os
import re
import threading
from collections import defaultdict
from pathlib import Path

import solara

from model.batch import store
from model.errors import ParameterError

RESULTS_ENV = "ARMSRACE_RESULTS_DIR"
# Browser sessions are threads of one server: two sessions opening the same undrawn sweep draw it once.
_DRAWING: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)


def results_root() -> Path:
    """The folder whose subfolders are offered: ``$ARMSRACE_RESULTS_DIR`` or ``./results``."""
    return Path(os.environ.get(RESULTS_ENV) or "results")


def chart_files(folder: Path, kind: str = "sweep", root: Path | None = None) -> list[Path]:
    """The PNG charts of a folder (``plots/`` of a sweep), by name; no symlinked chart."""
    return store.browsable_charts(folder, kind, root if root is not None else folder.parent)


def ensure_charts(folder: Path, kind: str = "sweep", root: Path | None = None) -> list[Path]:
    """The folder's PNG charts, drawing a sweep's first with ``write_plots`` if it has none.

    Raises:
        RuntimeError: the charts are missing and cannot be drawn (message for the page).
    """
    if kind != "sweep":
        found = chart_files(folder, kind, root)
        if not found:
            raise RuntimeError(f"{folder.name} has no PNG charts.")
        return found
    if (folder / "plots").is_symlink():
        raise RuntimeError(f"{folder.name}: plots/ is a symlink; it is not followed.")
    with _DRAWING[str(folder.resolve())]:  # never list a folder another session is half-way through drawing
        found = chart_files(folder, kind, root)
        if found:
            return found
        try:
            from model.charts.sweep import write_plots
        except ImportError as exc:
            raise RuntimeError(f"{folder.name} has no plots/ and the chart module is unavailable ({exc}).") from None
        write_plots(folder)
        found = chart_files(folder, kind, root)
    if not found:
        raise RuntimeError(f"No charts could be drawn for {folder.name}.")
    return found


def describe(folder: Path, kind: str = "sweep") -> str:
    """One line about a folder: a sweep's description, design, runs and time; a run's scenario and
    class; a comparison's inputs."""
    if kind == "run":
        try:
            summary = store.read_json(folder / "summary.json")
            return (f"run of scenario {summary.get('scenario')} (seed {summary.get('seed')}): "
                    f"{summary.get('escalation')}")
        except (ParameterError, AttributeError):
            return "run (summary.json unreadable)"
    if kind == "comparison":
        try:
            inputs = store.read_json(folder / "compare.json").get("inputs", [])
            return "comparison of " + " vs ".join(str(i.get("label")) for i in inputs)
        except (ParameterError, AttributeError):
            return "comparison (compare.json unreadable)"
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


def css_name(name: str) -> str:
    """A folder name as a safe CSS class suffix (letters, digits, '-' and '_' only)."""
    return re.sub(r"[^A-Za-z0-9_-]", "", name) or "folder"


def chart_title(stem: str) -> str:
    """'burden_fan' -> 'Burden fan'."""
    text = stem.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


@solara.component
def ResultsPage() -> None:
    """Pick result folders and one chart type in the sidebar; that chart of each folder, stacked."""
    root = results_root()
    refresh = solara.use_reactive(0)
    found = solara.use_memo(lambda: store.browsable_folders(root), [refresh.value, str(root)])
    kinds = {f.name: kind for f, kind in found}
    names = list(kinds)
    selected = solara.use_reactive(names[:1])
    chart = solara.use_reactive("")
    chosen = [f for f, _ in found if f.name in selected.value]

    def load() -> dict[str, list[Path] | str]:
        """Chart files per chosen folder (a sweep's drawn first where missing), or why there are none."""
        out: dict[str, list[Path] | str] = {}
        for folder in chosen:
            try:
                out[folder.name] = ensure_charts(folder, kinds[folder.name], root)
            except Exception as exc:  # shown on the page; one bad folder must not hide the others
                out[folder.name] = str(exc) or type(exc).__name__
        return out

    task = solara.lab.use_task(load, dependencies=[tuple(str(f) for f in chosen), refresh.value],
                               raise_error=False)
    charts = task.value if task.finished and task.value else {}
    files = {name: v for name, v in charts.items() if isinstance(v, list)}
    captions: dict[str, str] = {}
    for folder in chosen:
        for stem, text in descriptions(folder).items():
            captions.setdefault(stem, text)
    stems = list(dict.fromkeys([s for s in captions if any(p.stem == s for v in files.values() for p in v)]
                               + sorted({p.stem for v in files.values() for p in v})))
    titles = {chart_title(s): s for s in stems}
    shown = chart.value if chart.value in titles else next(iter(titles), "")

    with solara.Sidebar():
        with solara.Card("Result folders", subtitle=str(root.resolve())):
            if names:
                solara.SelectMultiple("Folders", values=selected, all_values=names,
                                      classes=["armsrace-results-select"])
                solara.Text("Sweeps, runs and comparisons under the results folder.",
                            style={"font-size": "0.85em"})
            else:
                solara.Warning(f"No result folders in {root}. Run 'armsrace sweep', 'armsrace run' or "
                               "'armsrace compare' first, or start 'armsrace viz --results DIR'.")
            solara.Button("Rescan folder", icon_name="mdi-refresh", text=True,
                          on_click=lambda: refresh.set(refresh.value + 1))
        if titles:
            with solara.Card("Chart"):
                solara.Select("Chart shown", values=list(titles), value=shown, on_value=chart.set,
                              classes=["armsrace-chart-select"])

    solara.Markdown("## Results: one chart across folders")
    if not chosen:
        solara.Info("Pick one or more result folders in the sidebar.")
        return
    if task.pending:
        solara.Text("Loading charts (drawing them where a sweep has none yet)…", classes=["armsrace-results-loading"])
        solara.ProgressLinear(True)
    stem = titles.get(shown, "")
    if stem:
        solara.Text(f"{shown}: {captions.get(stem, '')}".rstrip(": "), classes=["armsrace-results-chart-title"],
                    style={"font-size": "1.1em", "font-weight": "600", "display": "block"})
    for folder in chosen:
        with solara.Card(margin=0, elevation=1, classes=["armsrace-results-row"], style={"margin-top": "12px"}):
            # Names are data, not markup: plain text only (solara.Text), never Markdown or HTML.
            solara.Text(folder.name, classes=["armsrace-results-folder"],
                        style={"font-size": "1.05em", "font-weight": "600", "display": "block"})
            solara.Text(f"{kinds[folder.name]} · {describe(folder, kinds[folder.name])}",
                        style={"color": "#555", "font-size": "0.9em", "display": "block"})
            got = charts.get(folder.name)
            if isinstance(got, str):
                solara.Error(got)
                continue
            path = next((p for p in files.get(folder.name, []) if p.stem == stem), None)
            if path is None:
                if got is not None:
                    solara.Text("(this chart is not in this folder)", style={"color": "#888"})
                continue
            solara.Image(store.read_chart(path, root), format="png", width="100%",
                         classes=["armsrace-result-chart", f"armsrace-result-{css_name(folder.name)}"])
