"""Fixtures shared by the chart and store tests: synthetic result folders, and closing figures."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from fixtures_results import standard_folders


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """The standard synthetic result folders (grid, lhs, sobol, ...), written once per test module."""
    return standard_folders(tmp_path_factory.mktemp("results"))


@pytest.fixture(autouse=True)
def _close_figures():
    """No figure survives its test (matplotlib keeps pyplot figures open until closed)."""
    yield
    plt.close("all")
