"""Fill Solara's local CDN cache so the Mesa SolaraViz app works fully offline.

Run once per environment (idempotent; only the npm registry is contacted)::

    python -m model.viz.offline_assets            # install what is missing
    python -m model.viz.offline_assets --check    # verify only, no network, exit 1 if incomplete

Node.js/npm is optional. With ``--fetch auto`` (default) the tarballs come from
``npm pack`` when ``npm`` is on PATH (honouring the user's npm configuration), otherwise
straight from the registry with the Python standard library (``--fetch registry`` forces
this): the packument ``<registry>/<name>`` (scoped names as ``@scope%2Fname``) gives the
version and ``dist.tarball``, whose ``dist.integrity`` (sha512) or ``dist.shasum`` (sha1)
is verified before extraction; the cached result is byte-identical to the npm one.
Registry: ``$npm_config_registry`` / ``$NPM_CONFIG_REGISTRY`` if set (e.g. an internal
mirror on a closed network; tarball URLs pointing at registry.npmjs.org are rewritten to
it, like npm's ``replace-registry-host``), else https://registry.npmjs.org/. HTTP(S)
proxies come from the usual ``https_proxy`` variables; timeouts are 60 s, with one retry.
Without npm only exact versions and ``X`` / ``X.Y`` / ``X.x`` ranges are resolved (like
npm: the ``latest`` dist-tag if it matches, else the highest non-prerelease match).
``--cache-dir DIR`` fills/checks another folder (default: the solara cache below).

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
then fetches each ``<pkg>@<version>`` tarball (see above) and extracts the tarball's ``package/``
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
import base64
import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
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

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
HTTP_TIMEOUT = 60  # seconds per connect/read; each request is retried once
_PACKUMENT_ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
_SEMVER_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_PARTIAL_RE = re.compile(r"^v?(\d+)(?:\.(\d+|[xX*])(?:\.[xX*])?)?$")  # 5, 5.x, 5.*, 5.2, 5.2.x
_SRI_STRENGTH = ("sha512", "sha384", "sha256", "sha1")


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


def npm_pack(pkg: Package, tmp: Path, npm: str) -> dict:
    """Fetch ``pkg`` with ``npm pack`` into ``tmp``; returns npm's pack info (name, version, filename, ...)."""
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
    return json.loads(proc.stdout[proc.stdout.index("[") :])[0]


def registry_url() -> str:
    url = os.environ.get("npm_config_registry") or os.environ.get("NPM_CONFIG_REGISTRY") or DEFAULT_REGISTRY
    return url.rstrip("/") + "/"


def _http_get(url: str, accept: str, what: str) -> bytes:
    req = urllib.request.Request(
        url, headers={"Accept": accept, "Accept-Encoding": "gzip", "User-Agent": "ea-armsrace-offline-assets"}
    )
    for attempt in (1, 2):
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as resp:
                data = resp.read()
                if resp.headers.get("Content-Encoding", "").lower() == "gzip":
                    data = gzip.decompress(data)
                return data
        except urllib.error.HTTPError as e:
            err = f"HTTP {e.code} {e.reason}"
            if e.code < 500 and e.code not in (408, 429):
                raise Fail(f"{what}: {err} from {url}") from None
        except urllib.error.URLError as e:
            err = str(e.reason) or type(e.reason).__name__
        except (OSError, EOFError, http.client.HTTPException) as e:
            err = str(e) or type(e).__name__
        if attempt == 1:
            time.sleep(2)
    raise Fail(f"{what}: {err} from {url} (after 1 retry)")


def _semver(v: str) -> tuple[int, int, int, str | None] | None:
    m = _SEMVER_RE.match(v)
    return (int(m[1]), int(m[2]), int(m[3]), m[4]) if m else None


def resolve_version(pkg: Package, packument: dict) -> str:
    """Pick the version ``npm pack <pkg.spec>`` would (exact versions and X / X.Y / X.x ranges only)."""
    versions = packument.get("versions") or {}
    if _EXACT_RE.match(pkg.version):
        base = pkg.version.split("+")[0]  # build metadata does not take part in semver equality
        hit = pkg.version if pkg.version in versions else next((v for v in versions if v.split("+")[0] == base), None)
        if hit is None:
            raise Fail(f"{pkg.spec}: version {pkg.version} not in the registry's packument for {pkg.name}")
        return hit
    m = _PARTIAL_RE.match(pkg.version)
    if not m:
        raise Fail(
            f"{pkg.spec}: version range {pkg.version!r} is not supported without npm "
            "(only exact X.Y.Z and X / X.Y / X.x ranges); install Node.js/npm"
        )
    major, minor = int(m[1]), (int(m[2]) if m[2] and m[2].isdigit() else None)

    def matches(v: str) -> bool:
        sv = _semver(v)
        return sv is not None and sv[3] is None and sv[0] == major and minor in (None, sv[1])

    latest = (packument.get("dist-tags") or {}).get("latest")
    if latest in versions and matches(latest) and not versions[latest].get("deprecated"):
        return latest  # npm (npm-pick-manifest) prefers the `latest` tag when it satisfies the range
    candidates = [v for v in versions if matches(v)]
    if not candidates:
        raise Fail(f"{pkg.spec}: no non-prerelease version of {pkg.name} satisfies {pkg.version!r}")
    return max(candidates, key=lambda v: (not versions[v].get("deprecated"), _semver(v)[:3]))


def _verify(data: bytes, dist: dict, what: str) -> None:
    hashes: dict[str, list[str]] = {}
    for token in str(dist.get("integrity") or "").split():
        algo, _, digest = token.partition("-")
        if algo.lower() in _SRI_STRENGTH:
            hashes.setdefault(algo.lower(), []).append(digest.split("?")[0])
    algo = next((a for a in _SRI_STRENGTH if a in hashes), None)
    if algo is not None:
        actual = base64.b64encode(hashlib.new(algo, data).digest()).decode()
        if actual not in hashes[algo]:
            raise Fail(f"{what}: {algo} integrity mismatch (expected {hashes[algo][0]}, got {actual})")
    elif dist.get("shasum"):
        actual = hashlib.sha1(data).hexdigest()
        if actual != str(dist["shasum"]).lower():
            raise Fail(f"{what}: sha1 shasum mismatch (expected {dist['shasum']}, got {actual})")
    else:
        raise Fail(f"{what}: registry gives neither dist.integrity nor dist.shasum; refusing to install")


def registry_pack(pkg: Package, tmp: Path, registry: str) -> dict:
    """Fetch ``pkg``'s tarball from the npm registry into ``tmp`` (no npm); returns npm-pack-like info."""
    url = registry + urllib.parse.quote(pkg.name, safe="@")
    try:
        packument = json.loads(_http_get(url, _PACKUMENT_ACCEPT, f"packument of {pkg.name}"))
    except ValueError as e:
        raise Fail(f"packument of {pkg.name} from {url} is not valid JSON ({e})") from None
    version = resolve_version(pkg, packument)
    manifest = packument["versions"][version]
    dist = manifest.get("dist") or {}
    if not dist.get("tarball"):
        raise Fail(f"{pkg.name}@{version}: packument has no dist.tarball")
    tarball = urllib.parse.urljoin(registry, dist["tarball"])
    if registry != DEFAULT_REGISTRY and tarball.startswith(DEFAULT_REGISTRY):
        tarball = registry + tarball[len(DEFAULT_REGISTRY) :]  # as npm's replace-registry-host=npmjs
    data = _http_get(tarball, "*/*", f"tarball of {pkg.name}@{version}")
    _verify(data, dist, f"tarball {tarball}")
    filename = f"{pkg.name.lstrip('@').replace('/', '-')}-{version}.tgz"  # npm pack's file name
    (tmp / filename).write_bytes(data)
    return {
        "name": manifest.get("name", packument.get("name", pkg.name)),
        "version": version,
        "filename": filename,
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),  # as npm pack
        "size": len(data),
    }


def install(pkg: Package, cache_dir: Path, fetch: Callable[[Package, Path], dict], tmp: Path) -> str:
    target = cache_dir / pkg.spec
    marker = target / MARKER
    if marker.is_file() and not _missing(pkg, target):
        resolved = json.loads(marker.read_text()).get("version", "?")
        return f"{pkg.spec}: present (version {resolved}) - skipped"
    info = fetch(pkg, tmp)
    if info["name"] != pkg.name or (_EXACT_RE.match(pkg.version) and info["version"] != pkg.version):
        raise Fail(f"fetching {pkg.spec} returned {info['name']}@{info['version']}")
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
        "--check", action="store_true", help="only verify the cache (no network); exit 1 if incomplete"
    )
    parser.add_argument(
        "--fetch",
        choices=("auto", "npm", "registry"),
        default="auto",
        help="how to get tarballs: npm pack, or Python straight from the registry (auto: npm if on PATH)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="cache folder to fill/check (default: solara's assets.proxy_cache_dir, <sys.prefix>/share/solara/cdn)",
    )
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    try:
        from solara.server import settings

        cache_dir = args.cache_dir or Path(settings.assets.proxy_cache_dir)
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
            npm = shutil.which("npm") if args.fetch != "registry" else None
            if npm is None and args.fetch == "npm":
                raise Fail("npm not found on PATH; install Node.js/npm or use --fetch registry")
            if npm is not None:
                fetch, via = (lambda p, t: npm_pack(p, t, npm)), f"npm pack ({npm})"
            else:
                registry = registry_url()
                fetch, via = (lambda p, t: registry_pack(p, t, registry)), f"registry {registry} (no npm)"
            print(f"fetching with {via}")
            cache_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="solara-offline-") as tmp:
                for pkg in packages:
                    print(install(pkg, cache_dir, fetch, Path(tmp)), flush=True)
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
