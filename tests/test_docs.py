"""Every file the code and the documentation cite exists (a moved module leaves no stale path behind)."""

from __future__ import annotations

import re
import subprocess

import pytest
from helpers import REPO

CITED = re.compile(r"\b(?:model|docs|tests|experiments|benchmarks)/[A-Za-z0-9_./*<>-]+\.(?:py|md|toml|csv)\b")
def cited_paths() -> dict[str, list[str]]:
    """Cited path -> files citing it, over the tracked source, documentation and experiment files."""
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    out: dict[str, list[str]] = {}
    for name in files:
        if name.startswith("results/") or not (name.endswith((".py", ".md", ".toml")) or name == "Makefile"):
            continue
        for path in set(CITED.findall((REPO / name).read_text())):
            out.setdefault(path, []).append(name)
    return out


CITATIONS = cited_paths()


@pytest.mark.parametrize("path", sorted(CITATIONS))
def test_cited_file_exists(path):
    pattern = re.sub(r"<[^>]+>|\bNAME\b", "*", path)
    found = list(REPO.glob(pattern)) if "*" in pattern else [REPO / path] if (REPO / path).exists() else []
    assert found, f"{path} is cited by {', '.join(CITATIONS[path])} but does not exist"


def test_the_checker_finds_citations():
    assert "docs/ARCHITECTURE.md" in CITATIONS and "experiments/sensitivity.toml" in CITATIONS
