"""docs/tutorial.ipynb runs from top to bottom, offline, in the project's environment (nbclient)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import nbformat
from helpers import REPO
from nbclient import NotebookClient

NOTEBOOK = REPO / "docs" / "tutorial.ipynb"


def test_tutorial_notebook_runs_and_shows_its_results(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    before = set(Path(tempfile.gettempdir()).glob("armsrace-tutorial-*"))
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    elapsed = time.perf_counter() - t0
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) + o.get("text", "") for o in outputs)
    assert "diff_method" in text and "paired" in text  # the comparison is paired: the sweeps share seeds
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5  # run, phase, fan, difference charts
    widgets = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets  # the SolaraViz page, displayed inline
    assert set(Path(tempfile.gettempdir()).glob("armsrace-tutorial-*")) == before  # its sweeps are removed
    print(f"tutorial executed in {elapsed:.1f} s")
