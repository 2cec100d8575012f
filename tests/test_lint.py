"""Style gate: ruff over the whole project, with the configuration in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys

from helpers import REPO


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(sys.executable).replace("python", "ruff")
    res = subprocess.run([ruff, "check", "."], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
