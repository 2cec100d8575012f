"""Style gate: ruff over the whole project, with the configuration in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys

from helpers import REPO


def test_ruff_is_clean():
    res = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
