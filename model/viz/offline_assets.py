"""Fill Solara's local CDN cache so the Mesa SolaraViz app works fully offline.

Run once per environment (idempotent; only the npm registry is contacted)::

    python -m model.viz.offline_assets            # install what is missing
    python -m model.viz.offline_assets --check    # verify only, no npm, exit 1 if incomplete

How it works
------------
``solara run`` serves every front-end asset through its proxy route
``/_solara/cdn/<pkg>@<version>/<file>``, answered from
``<sys.prefix>/share/solara/cdn/<pkg>@<version>/<file>`` (solara setting
``assets.proxy_cache_dir``); only on a cache miss does the *server* fetch from the CDN.
This module reads the installed solara source (``server/templates/*.j2``, ``*.vue``,
``*.py``) for every ``{{cdn}}/...`` / ``${this.getCdn()}/...`` reference, picks the
ones that apply to this environment (Vue 2 vs Vue 3 bundle from the installed ipyvue
version, ipywidgets major version for ``main{7,8}.css``, ``assets.fontawesome_path``),
then ``npm pack``s each ``<pkg>@<version>`` and extracts the tarball's ``package/``
contents into the cache folder, verifying that every referenced file exists.
Semver-range references (``vega@5``) are packed as the range (npm picks the newest
match, as jsdelivr does) and stored under the range name, which is the URL the page uses.
jsdelivr auto-minifies (``require.min.js`` is not in the requirejs tarball); a missing
``X.min.js``/``X.min.css`` is filled with a copy of ``X.js``/``X.css``.
ipyvue/ipyvuetify widget code is *not* fetched from the CDN: the page loads it from the
installed Jupyter nbextensions; this module verifies they are present (if missing, the
browser would fall back to https://cdn.jsdelivr.net directly, bypassing the cache).
Components whose version is chosen at run time in JS (echarts, codemirror,
solara-milkdown) are not used by Mesa and are not cached.

Environment the app server MUST run with (also exported as ``OFFLINE_ENV``)
---------------------------------------------------------------------------
* ``SOLARA_ASSETS_PROXY=True`` -- serve assets through ``/_solara/cdn`` (solara turns
  the proxy off by itself when ``VSCODE_PID``/``VSCODE_CWD`` is set, e.g. in a VS Code
  terminal, and the browser then goes straight to jsdelivr).
* ``SOLARA_ASSETS_CDN=http://127.0.0.1:9/npm/`` -- a server-side cache miss fails fast
  locally (discard port) instead of trying cdn.jsdelivr.net.
* ``SOLARA_TELEMETRY_MIXPANEL_ENABLE=False`` -- no api.mixpanel.com / api.ipify.org calls.

And with the ``solara run`` flag ``--no-check-version`` (otherwise it queries pypi.org).
The one-time browser "solara check" iframe (https://solara.dev/static/public/success.html)
is suppressed by ``$SOLARA_HOME/.solara_checked`` (default ``~/.solara``), which
``main()`` creates for the current user; alternatively run with ``--production``.
Full command::

    SOLARA_ASSETS_PROXY=True SOLARA_ASSETS_CDN=http://127.0.0.1:9/npm/ \\
    SOLARA_TELEMETRY_MIXPANEL_ENABLE=False \\
    .venv/bin/solara run <app.py> --host 127.0.0.1 --port 8765 --no-check-version
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata, util
from pathlib import Path

OFFLINE_ENV = {
    "SOLARA_ASSETS_PROXY": "True",
    "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/npm/",
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
}
SOLARA_RUN_FLAGS = ("--no-check-version",)

# The only hand-maintained knowledge, verified against solara's template on every run:
# solara.html.j2 loads exactly one of these front-end bundles, the value says whether it
# is the Vue 3 one (chosen like solara.server.server: ipyvue.__version__.startswith("3")).
FRONTEND_BUNDLES = {"@widgetti/solara-vuetify-app": False, "@widgetti/solara-vuetify3-app": True}
# Widget front-ends the page loads from the installed Jupyter nbextensions (pip package).
NBEXTENSIONS = {"jupyter-vue": "ipyvue", "jupyter-vuetify": "ipyvuetify"}
# Parts of the solara package a Mesa app never shows (the solara.dev website).
SKIP_DIRS = ("website",)

MARKER = ".offline_assets.json"
_REF_RE = re.compile(r"""(?:\{\{\s*cdn\s*\}\}|\$\{this\.getCdn\(\)\})(/[^\s'"`<>()]+)""")
_SPEC_RE = re.compile(r"^/(?P<name>(?:@[^/@]+/)?[^/@]+)@(?P<ver>[^/]+)(?:/(?P<file>.*))?$")
_EXACT_RE = re.compile(r"^\d+\.\d+\.\d+(?:[-+][\w.]+)?$")
_SOURCE_EXT = {".py", ".vue", ".j2", ".html", ".js"}


class Fail(Exception):
    pass


@dataclass
class Package:
    name: str
    version: str  # exact version or semver range, exactly as in the URL
    files: set = field(default_factory=set)
    sources: set = field(default_factory=set)

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


def _solara_dir() -> Path:
    spec = util.find_spec("solara")
    if spec is None or not spec.submodule_search_locations:
        raise Fail("solara is not installed in this environment")
    return Path(list(spec.submodule_search_locations)[0])


def discover() -> tuple[list[Package], list[str]]:
    """Return (packages to cache, names skipped because their version is set in JS)."""
    from solara.server import settings

    root = _solara_dir()
    widgets_major = metadata.version("ipywidgets").split(".")[0]
    vue3 = metadata.version("ipyvue").startswith("3")
    refs: list[tuple[str, str]] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.suffix not in _SOURCE_EXT or rel.parts[0] in SKIP_DIRS or "__pycache__" in rel.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in _REF_RE.finditer(text):
            url = re.sub(r"\{\{\s*ipywidget_major_version\s*\}\}", widgets_major, m.group(1))
            refs.append((url, str(rel)))
    if settings.assets.fontawesome_enabled:
        refs.append((settings.assets.fontawesome_path, "settings.assets.fontawesome_path"))

    packages: dict[str, Package] = {}
    templated: set[str] = set()
    for url, src in refs:
        m = _SPEC_RE.match(url)
        if not m:
            continue
        name, ver, file = m["name"], m["ver"], m["file"] or ""
        if "${" in ver or "{{" in ver or "{{" in file or "${" in file:
            templated.add(name)
            continue
        pkg = packages.setdefault(f"{name}@{ver}", Package(name, ver))
        if file:
            pkg.files.add(file)
        pkg.sources.add(src)

    names = {p.name for p in packages.values()}
    for bundle in FRONTEND_BUNDLES:
        if bundle not in names:
            raise Fail(f"solara no longer references {bundle}; update FRONTEND_BUNDLES in {__name__}")
    result = [p for p in packages.values() if FRONTEND_BUNDLES.get(p.name, vue3) == vue3]
    return sorted(result, key=lambda p: p.spec), sorted(templated)


def check_nbextensions() -> list[str]:
    from jupyter_core.paths import jupyter_path

    lines = []
    for ext, dist in NBEXTENSIONS.items():
        label = f"{ext} ({dist} {metadata.version(dist)})"
        hits = [Path(d) / ext / "nodeps.js" for d in jupyter_path("nbextensions")]
        found = next((h for h in hits if h.is_file()), None)
        if found is None:
            raise Fail(f"nbextension {label} missing; reinstall {dist} in this environment")
        lines.append(f"{label}: served locally from {found.parent}")
    return lines


def _missing(pkg: Package, target: Path) -> list[str]:
    return sorted(f for f in pkg.files if not (target / f).is_file())


def _add_min_fallbacks(pkg: Package, staging: Path) -> None:
    for f in pkg.files:
        m = re.match(r"^(.*)\.min\.(js|css)$", f)
        if m and not (staging / f).exists() and (staging / f"{m[1]}.{m[2]}").is_file():
            shutil.copyfile(staging / f"{m[1]}.{m[2]}", staging / f)


def install(pkg: Package, cache_dir: Path, npm: str, tmp: Path) -> str:
    target = cache_dir / pkg.spec
    marker = target / MARKER
    if marker.is_file() and not _missing(pkg, target):
        resolved = json.loads(marker.read_text()).get("version", "?")
        return f"{pkg.spec}: present (version {resolved}) - skipped"
    proc = subprocess.run(
        [npm, "pack", pkg.spec, "--json", "--ignore-scripts", "--pack-destination", str(tmp)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp,
    )
    if proc.returncode != 0:
        err = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()] or ["(no output)"]
        raise Fail(f"npm pack {pkg.spec} failed: {err[-1] if len(err) < 3 else ' '.join(err[:3])}")
    info = json.loads(proc.stdout[proc.stdout.index("[") :])[0]
    if info["name"] != pkg.name or (_EXACT_RE.match(pkg.version) and info["version"] != pkg.version):
        raise Fail(f"npm pack {pkg.spec} returned {info['name']}@{info['version']}")
    staging = tmp / f"unpacked-{len(list(tmp.iterdir()))}"
    with tarfile.open(tmp / info["filename"]) as tar:
        members = []
        for mem in tar.getmembers():  # strip the top folder ("package/" for npm tarballs)
            parts = mem.name.split("/", 1)
            if len(parts) == 2 and parts[1]:
                mem.name = parts[1]
                members.append(mem)
        tar.extractall(staging, members=members, filter="data")
    _add_min_fallbacks(pkg, staging)
    missing = _missing(pkg, staging)
    if missing:
        raise Fail(f"{pkg.spec} ({info['version']}) lacks files solara requests: {', '.join(missing)}")
    shutil.copytree(staging, target, dirs_exist_ok=True)
    marker.write_text(
        json.dumps({"spec": pkg.spec, "version": info["version"], "integrity": info.get("integrity")})
    )
    size = f"{info['size'] / 1e6:.1f} MB tgz"
    return f"{pkg.spec}: installed version {info['version']} ({size}, {len(pkg.files)} files verified)"


def mark_solara_checked() -> str:
    from solara.util import get_solara_home

    path = get_solara_home() / ".solara_checked"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        return f"solara check iframe: disabled via {path}"
    except OSError as e:
        return f"solara check iframe: could not write {path} ({e}); run solara with --production"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m model.viz.offline_assets", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--check", action="store_true", help="only verify the cache (no npm); exit 1 if incomplete"
    )
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    try:
        from solara.server import settings

        cache_dir = Path(settings.assets.proxy_cache_dir)
        packages, templated = discover()
        for line in check_nbextensions():
            print(line)
        if args.check:
            bad = [
                p.spec
                for p in packages
                if not (cache_dir / p.spec / MARKER).is_file() or _missing(p, cache_dir / p.spec)
            ]
            for p in packages:
                print(f"{p.spec}: {'MISSING' if p.spec in bad else 'ok'}")
            if bad:
                raise Fail(
                    f"cache {cache_dir} incomplete: {', '.join(bad)}; run python -m model.viz.offline_assets"
                )
        else:
            npm = shutil.which("npm")
            if npm is None:
                raise Fail("npm not found on PATH; install Node.js/npm (only the npm registry is needed)")
            cache_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="solara-offline-") as tmp:
                for pkg in packages:
                    print(install(pkg, cache_dir, npm, Path(tmp)), flush=True)
            print(mark_solara_checked())
        if templated:
            print(f"not cached (version chosen in JS, unused by Mesa): {', '.join(templated)}")
        print(f"cache: {cache_dir} ({time.monotonic() - t0:.1f}s)")
    except Fail as e:
        print(f"offline_assets: error: {e}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as e:
        print(f"offline_assets: error: timed out: {' '.join(map(str, e.cmd))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
