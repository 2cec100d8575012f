"""The package's layering: imports only run downward, the command line starts light, one backend choice.

Layers, lowest first (docs/ARCHITECTURE.md): ``model.errors`` < ``model.sim`` < ``model.batch`` <
``model.analysis`` < ``model.charts`` < the entry points (``model.report``, ``model.commands``,
``model.cli``, ``model.viz``, ``model.api``). A module may import its own layer and those below; every
import counts, including those inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO

MODEL = REPO / "model"
LAYERS = {"model": 0, "model.errors": 0, "model.sim": 1, "model.batch": 2, "model.analysis": 3, "model.charts": 4,
          "model.report": 5, "model.commands": 5, "model.cli": 5, "model.viz": 5, "model.api": 5}
NAMES = {0: "errors", 1: "sim", 2: "batch", 3: "analysis", 4: "charts", 5: "entry points"}
HEAVY = ("numpy", "pandas", "matplotlib", "scipy", "pyarrow", "mesa", "SALib", "dask", "solara")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(name: str) -> int | None:
    """The layer of a module of the package (its longest known prefix), None outside the package."""
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            return LAYERS[prefix]
    return None


def imports(path: Path, top_level_only: bool = False) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in a file (``from a.b import c`` gives ``a.b.c`` when ``c`` is a
    module of the package, else ``a.b``); with ``top_level_only``, only the module's own statements."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    out = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            if base == "__future__":
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                is_module = (REPO / Path(*sub.split("."))).with_suffix(".py").is_file() or \
                    (REPO / Path(*sub.split("."))).is_dir()
                out.append((node.lineno, sub if is_module else base))
    return out


def package_files() -> list[Path]:
    return sorted(p for p in MODEL.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_of_the_package_has_a_layer():
    assert [module_name(p) for p in package_files() if layer(module_name(p)) is None] == []


def test_imports_only_run_downward():
    upward = []
    for path in package_files():
        me = module_name(path)
        mine = layer(me)
        for line, target in imports(path):
            theirs = layer(target)
            if theirs is not None and theirs > mine:
                upward.append(f"{path.relative_to(REPO)}:{line} ({NAMES[mine]}) imports {target} ({NAMES[theirs]})")
    assert upward == [], "\n".join(upward)


def test_entry_points_do_not_import_the_command_line():
    """Nothing imports model.cli; only model.cli and the commands import model.commands; the report,
    the browser view and the API stand on the library alone."""
    found = []
    for path in package_files():
        me = module_name(path)
        for line, target in imports(path):
            if target == "model.cli" or target.startswith("model.cli."):
                found.append(f"{me}:{line} imports {target}")
            if target.startswith("model.commands") and not (me == "model.cli" or me.startswith("model.commands")):
                found.append(f"{me}:{line} imports {target}")
            if me in ("model.report", "model.api") or me.startswith("model.viz"):
                if layer(target) == 5 and not (target.startswith("model.viz") and me.startswith("model.viz")):
                    found.append(f"{me}:{line} imports {target}")
    assert found == [], "\n".join(found)


def test_the_simulation_wing_imports_nothing_above_it():
    for path in sorted((MODEL / "sim").rglob("*.py")):
        for line, target in imports(path):
            assert not target.startswith(("model.batch", "model.analysis", "model.charts", "model.viz", "model.cli",
                                          "model.commands", "model.report", "model.api")), (path, line, target)


def test_the_checker_sees_imports_inside_functions(tmp_path, monkeypatch):
    path = tmp_path / "model" / "sim" / "probe.py"
    path.parent.mkdir(parents=True)
    path.write_text("def f():\n    from model.charts.style import COUNTRY_COLORS\n    import model.batch.store\n"
                    "    from . import units\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert [t for _, t in imports(path)] == ["model.charts.style", "model.batch.store", "model.sim"]
    assert [layer(t) for _, t in imports(path)] == [4, 2, 1]


# --- a light command line ------------------------------------------------------------------------

def test_commands_import_only_light_modules_at_the_top():
    """``armsrace --help`` builds every subparser: their modules import heavy libraries only in handlers."""
    allowed_model = ("model", "model.errors")
    found = []
    for path in [MODEL / "cli.py", *sorted((MODEL / "commands").glob("*.py"))]:
        for line, target in imports(path, top_level_only=True):
            root = target.split(".")[0]
            if root == "model":
                if target not in allowed_model and not target.startswith("model.commands"):
                    found.append(f"{path.name}:{line} {target}")
            elif root not in sys.stdlib_module_names:
                found.append(f"{path.name}:{line} {target}")
    assert found == [], found


HELP_PROBE = """
import sys
from model.cli import build_parser
parser = build_parser()
for argv in (["--help"], *[[name, "--help"] for name in sys.argv[1:]]):
    try:
        parser.parse_args(argv)
    except SystemExit:
        pass
print("HEAVY:" + ",".join(sorted({m.split(".")[0] for m in sys.modules} & set(%r))))
"""


def test_help_of_every_command_loads_no_heavy_library():
    from model.cli import build_parser

    names = sorted(build_parser()._subparsers._group_actions[0].choices)
    assert {"run", "sweep", "plot", "compare", "report", "viz"} <= set(names)
    r = subprocess.run([sys.executable, "-c", HELP_PROBE % (HEAVY,), *names], capture_output=True, text=True,
                       cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("usage: armsrace") == len(names) + 1  # every help was printed
    assert r.stdout.splitlines()[-1] == "HEAVY:", f"--help imported {r.stdout.splitlines()[-1]}"


def test_armsrace_help_import_time_has_no_numpy():
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "model.cli", "--help"], capture_output=True,
                       text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0 and "usage: armsrace" in r.stdout
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in r.stderr.splitlines() if "|" in line}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize(("command", "name", "library"), [
    ("calibrate", "DEFAULT_SAMPLE", "model.analysis.calibrate"),
    ("backtest", "ORIGINS", "model.analysis.backtest"),
    ("report", "FIG_DIR", "model.report"),
    ("sweep", "DEFAULT_TIMEOUT", "model.batch.sweep"),
])
def test_constants_repeated_for_a_light_help_agree_with_the_library(command, name, library):
    import importlib

    assert getattr(importlib.import_module(f"model.commands.{command}"), name) == \
        getattr(importlib.import_module(library), name)


# --- one backend choice --------------------------------------------------------------------------

def test_matplotlib_backend_is_chosen_once_in_charts_style():
    calls = []
    for path in package_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "use"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "matplotlib"):
                calls.append(path.relative_to(REPO).as_posix())
    assert calls == ["model/charts/style.py"]


LOADED_PROBE = """
import sys
from model.cli import main
code = main(sys.argv[1:])
print("LOADED:" + ",".join(sorted({m.split(".")[0] for m in sys.modules} & set(%r))))
sys.exit(code)
"""
GRID = "[parameters]\nus_demand = [0.02, 0.05]\n[keep]\npaths = false\n"
LHS = '[parameters]\nus_demand = { low = 0.02, high = 0.05 }\n[design]\nkind = "lhs"\nsamples = 4\n'


@pytest.mark.parametrize(("argv", "allowed"), [
    (["params"], {"numpy"}),
    (["scenarios"], {"numpy"}),
    (["sweep", "grid.toml"], {"numpy", "pandas", "pyarrow"}),                  # the main job: no SciPy, Dask, ...
    (["sweep", "lhs.toml"], {"numpy", "pandas", "pyarrow", "scipy", "SALib"}),  # samplers only for their designs
    (["sweep", "grid.toml", "--engine", "mesa"], {"numpy", "pandas", "pyarrow", "mesa", "scipy"}),  # Mesa's own
], ids=["params", "scenarios", "sweep-grid", "sweep-lhs", "sweep-mesa"])
def test_commands_load_only_the_libraries_they_use(tmp_path, argv, allowed):
    """Start-up is the imports (benchmarks/bench_startup.py times it): Dask only with --workers/--scheduler,
    Mesa only for its engine, SciPy and SALib only for LHS and Sobol designs, Matplotlib never in a sweep."""
    (tmp_path / "grid.toml").write_text(GRID)
    (tmp_path / "lhs.toml").write_text(LHS)
    extra = ["--out", str(tmp_path / "out"), "--quiet"] if argv[0] == "sweep" else []
    r = subprocess.run([sys.executable, "-c", LOADED_PROBE % (HEAVY + ("distributed",),), *argv, *extra],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    loaded = set(filter(None, r.stdout.splitlines()[-1].removeprefix("LOADED:").split(",")))
    assert loaded <= allowed, f"{' '.join(argv)} loaded {sorted(loaded - allowed)}"
