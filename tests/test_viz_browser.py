"""The browser view end to end: ``armsrace viz`` served on loopback, driven by headless Chromium.

Every request the page makes to a host other than 127.0.0.1/localhost is aborted and recorded, and
each test asserts there were none, and no failed request or error response either: the page must
load and work air-gapped (front-end files from the local cache of ``model.viz.offline_assets``).
The server itself runs with every HTTP(S) proxy variable pointing at the discard port
(``http://127.0.0.1:9``, loopback exempt through ``no_proxy``), so a request it makes to the
outside fails, and each test asserts that the server's log gained no error or traceback.
Screenshots go to ``test-output/viz/``. How fast a Step renders is measured by
``benchmarks/bench_viz.py``, not asserted here (a wall-clock limit fails on a loaded machine).

Needs Debian's Chromium at /usr/bin/chromium (never a Playwright-downloaded browser). Without it
the tests are skipped, except under CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
from apps.pageserver import CHROMIUM, CHROMIUM_ARGS, free_port, serving
from playwright.sync_api import expect

LOOPBACK = {"127.0.0.1", "localhost"}
DEAD_PROXY = "http://127.0.0.1:9"
"""The discard port: any outside request of the server through a proxy fails at once."""
SERVER_ENV = {"http_proxy": DEAD_PROXY, "https_proxy": DEAD_PROXY, "HTTP_PROXY": DEAD_PROXY,
              "HTTPS_PROXY": DEAD_PROXY, "all_proxy": DEAD_PROXY, "ALL_PROXY": DEAD_PROXY,
              "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost"}
SERVER_ERRORS = ("Traceback", "Error", "error:", DEAD_PROXY)
"""Log text that means the server failed (a proxy, connection or rendering error)."""
OUT = Path(__file__).resolve().parents[1] / "test-output" / "viz"
VIEWPORT = {"width": 1400, "height": 1000}
XSS_NAME = "{{ constructor.constructor('window.__xss=document.domain')() }}x"
"""A result folder name that is a Vue template: rendered as a template, it would run JavaScript."""
TINY_EXPERIMENT = """\
[experiment]
description = "Browser test: two US demands"
base = "baseline"
until = 2030

[parameters]
us_demand = [0.02, 0.05]

[design]
kind = "grid"

[replicates]
count = 2
root_seed = 1

[keep]
paths = true
"""

STEP_JS = (Path(__file__).with_name("apps") / "step.js").read_text()
IMAGE_HASH_JS = """async (selector) => {
  const bytes = new Uint8Array(await (await fetch(document.querySelector(selector).src)).arrayBuffer());
  let h = 2166136261;
  for (const b of bytes) { h ^= b; h = Math.imul(h, 16777619) >>> 0; }
  return `${bytes.length}:${h}`;
}"""


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; under CI the browser tests must run")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def results_root(tmp_path_factory) -> Path:
    """Two result folders: a real tiny sweep without plots/ (the app draws them) and a synthetic one."""
    root = tmp_path_factory.mktemp("viz-results")
    experiment = root.parent / "tiny.toml"
    experiment.write_text(TINY_EXPERIMENT)
    subprocess.run([sys.executable, "-m", "model.cli", "sweep", str(experiment), "--out", str(root / "tiny"),
                    "--quiet"], check=True, capture_output=True, timeout=300)
    assert not (root / "tiny" / "plots").exists()
    synthetic = root / "synthetic"
    (synthetic / "plots").mkdir(parents=True)
    (synthetic / "manifest.json").write_text(json.dumps({"n_runs": 3, "experiment": {
        "experiment": {"description": "Synthetic folder"}}}))
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    for stem in ("fan_chart", "synthetic_only"):
        fig = Figure(figsize=(4, 3))
        fig.subplots().plot([0, 1, 2], [1, 3, 2])
        fig.suptitle(f"synthetic {stem}")
        fig.savefig(synthetic / "plots" / f"{stem}.png", dpi=60)
    # a run folder and a comparison folder, as 'armsrace run' and 'armsrace compare' write them
    run = root / "run-baseline"
    run.mkdir()
    for name in ("summary.json", "metadata.json"):
        (run / name).write_text(json.dumps({"scenario": "baseline", "seed": 0, "escalation": "stable"}))
    (run / "burden.png").write_bytes((synthetic / "plots" / "fan_chart.png").read_bytes())
    cmp = root / "compare-x-vs-y"
    cmp.mkdir()
    (cmp / "compare.json").write_text(json.dumps({"inputs": [{"label": "x"}, {"label": "y"}]}))
    (cmp / "fan_difference.png").write_bytes((synthetic / "plots" / "fan_chart.png").read_bytes())
    # hostile: a folder named as a Vue template, a symlinked folder, a chart linking out of the root
    hostile = root / XSS_NAME
    (hostile / "plots").mkdir(parents=True)
    (hostile / "manifest.json").write_text(json.dumps({"n_runs": 1}))
    (hostile / "plots" / "fan_chart.png").write_bytes((synthetic / "plots" / "fan_chart.png").read_bytes())
    outside = root.parent / "outside-results"
    outside.mkdir(exist_ok=True)
    (outside / "secret.png").write_bytes((synthetic / "plots" / "fan_chart.png").read_bytes())
    (hostile / "plots" / "leak.png").symlink_to(outside / "secret.png")
    (root / "linked").symlink_to(synthetic, target_is_directory=True)
    return root


class Server:
    """The running ``armsrace viz``: its address and its log (stdout and stderr)."""

    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log = url, log

    def log_size(self) -> int:
        return self.log.stat().st_size

    def errors_since(self, offset: int) -> list[str]:
        """Log lines written after ``offset`` that report an error."""
        with open(self.log, errors="replace") as f:
            f.seek(offset)
            return [line.rstrip() for line in f if any(e in line for e in SERVER_ERRORS)]


@pytest.fixture(scope="session")
def server(chromium_path, results_root):
    """``armsrace viz`` on a free loopback port, started once for the session and stopped at the end.

    Its environment sends every HTTP(S) request through a dead proxy except to loopback (see the
    module docstring).
    """
    armsrace = Path(sys.executable).with_name("armsrace")
    cmd = [str(armsrace)] if armsrace.exists() else [sys.executable, "-m", "model.cli"]
    log = results_root.parent / "viz-server.log"
    with serving("armsrace viz", [*cmd, "viz", "--port", str(free_port()), "--results", str(results_root)],
                 log, SERVER_ENV) as url:
        yield Server(url, log)


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Session:
    """One browser context (= one app session) whose requests outside loopback are aborted."""

    def __init__(self, browser, server: Server) -> None:
        self.server, self.url, self.blocked, self.failed = server, server.url, [], []
        self.log_offset = server.log_size()
        self.context = browser.new_context(viewport=VIEWPORT)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("websocket", lambda ws: self._check(ws.url))
        self.page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        self.page.on("requestfailed", lambda r: self.failed.append(f"failed {r.url}"))
        self.page.set_default_timeout(60_000)

    def _check(self, url: str) -> bool:
        ok = url.startswith(("data:", "blob:")) or urlparse(url).hostname in LOOPBACK
        if not ok:
            self.blocked.append(url)
        return ok

    def _route(self, route) -> None:
        if self._check(route.request.url):
            route.continue_()
        else:
            route.abort()

    def open(self, path: str = "") -> Session:
        self.page.goto(self.url + path)
        return self

    def wait_for_charts(self) -> None:
        self.page.wait_for_function(
            "() => document.querySelectorAll('img.armsrace-chart').length === 4"
            " && [...document.querySelectorAll('img.armsrace-chart')].every(i => i.complete && i.naturalWidth)")

    def text(self, name: str) -> str:
        return self.page.inner_text(f".armsrace-{name}").strip()

    def step(self, n: int = 1) -> list[float]:
        return [self.page.evaluate(STEP_JS) for _ in range(n)]

    def image_hash(self, chart: str) -> str:
        return self.page.evaluate(IMAGE_HASH_JS, f"img.armsrace-chart-{chart}")

    def slider(self, label: str):
        return self.page.locator(".v-input", has_text=label).get_by_role("slider")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(OUT / f"{name}.png"))

    def assert_offline(self) -> None:
        """Nothing went outside loopback, no request failed, and the server logged no error."""
        assert self.blocked == []
        assert self.failed == []  # every front-end file came from the local cache
        assert self.server.errors_since(self.log_offset) == []

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def session(browser, server):
    s = Session(browser, server)
    yield s
    s.close()


# ---------------------------------------------------------------- tests


def test_page_loads_offline_and_shows_the_model(session):
    session.open().wait_for_charts()
    assert session.text("year") == "2024"
    assert session.page.locator(".armsrace-dashboard h2").inner_text() == "Scenario: baseline"
    for label in ("Reset", "Step"):
        assert session.page.get_by_role("button", name=label).is_visible()
    assert session.page.get_by_role("tab", name="Results").is_visible()
    session.shot("01-loaded")
    session.assert_offline()


def test_five_steps_advance_the_year_and_the_data(session):
    session.open().wait_for_charts()
    spending, burden = session.text("regional-spending"), session.image_hash("burden")
    session.step(5)
    assert session.text("year") == "2029"
    assert session.text("regional-spending") != spending
    assert session.image_hash("burden") != burden
    assert session.text("escalation") in ("stable", "buildup", "spiral")
    assert 0 <= float(session.text("sdi")) <= 1
    session.shot("02-five-steps")
    session.assert_offline()


def test_play_runs_and_pauses(session):
    session.open().wait_for_charts()
    interval = session.slider("Pause between years (ms)")  # slowest play, so that Pause lands well before 2040
    interval.focus()
    session.page.keyboard.press("End")
    expect(interval).to_have_attribute("aria-valuenow", "500")
    session.page.get_by_role("button", name="▶").click()
    # Pause from inside the page as soon as the run reaches 2026.
    session.page.evaluate("""async () => {
      const year = () => +document.querySelector('.armsrace-year').textContent;
      await new Promise(done => { const check = () => year() >= 2026 ? done() : requestAnimationFrame(check);
                                  check(); });
      [...document.querySelectorAll('button')].find(b => b.textContent.trim() === '❚❚').click();
    }""")
    session.page.wait_for_timeout(1500)  # a step already under way (0.5 s interval + render) may still land
    paused = session.text("year")
    session.page.wait_for_timeout(1200)
    assert session.text("year") == paused and 2026 <= int(paused) < 2040
    assert session.page.get_by_role("button", name="▶").is_enabled()
    session.assert_offline()


def test_a_control_and_reset_change_the_run(session):
    session.open().wait_for_charts()
    session.step(5)
    before = session.page.locator("img.armsrace-chart-pressure").screenshot()
    burden_before = session.text("regional-burden")
    demand = session.slider("US demand of allies")
    assert demand.get_attribute("aria-valuenow") == "2"  # in % of GDP, as the page shows it
    demand.focus()
    session.page.keyboard.press("End")  # the slider's maximum, from the parameter spec
    expect(demand).to_have_attribute("aria-valuenow", "20")
    session.page.get_by_role("button", name="Reset").click()
    session.page.wait_for_function("() => document.querySelector('.armsrace-year').textContent.trim() === '2024'")
    expect(session.page.locator(".armsrace-run-params")).to_contain_text("US demand of allies 20.0% of GDP")
    session.step(5)
    assert session.text("year") == "2029"
    assert session.page.locator("img.armsrace-chart-pressure").screenshot() != before
    assert session.text("regional-burden") != burden_before
    session.shot("03-after-reset-us-demand-20pct")
    session.assert_offline()


def test_switching_scenario_rebuilds_the_model_and_the_controls(session):
    session.open().wait_for_charts()
    session.step(2)
    session.page.locator(".armsrace-scenario-select").click()
    session.page.locator(".v-menu__content .v-list-item", has_text="nato_precedent_5").click()
    session.page.wait_for_function(
        "() => document.querySelector('.armsrace-dashboard h2').textContent.includes('nato_precedent_5')")
    expect(session.page.locator(".armsrace-year")).to_have_text("2024")
    expect(session.slider("US demand of allies")).to_have_attribute("aria-valuenow", "5")
    expect(session.page.locator(".armsrace-run-params")).to_contain_text("US demand of allies 5.0% of GDP")
    session.wait_for_charts()
    session.step(10)
    assert session.text("year") == "2034"
    session.shot("04-nato-precedent-2034")
    session.assert_offline()


def test_sessions_have_their_own_models(browser, server, session):
    """Two sessions step their own runs: a model shared between sessions would show 2028 in B."""
    session.open().wait_for_charts()
    other = Session(browser, server).open()
    try:
        other.wait_for_charts()
        session.step(3)
        assert session.text("year") == "2027"
        assert other.text("year") == "2024"
        other.step(1)  # B's run starts from its own 2024 state
        assert other.text("year") == "2025"
        session.page.wait_for_timeout(500)  # time for any re-render B's step might cause in A
        assert session.text("year") == "2027"
        session.step(1)  # and A's run continues from its own 2027 state
        assert session.text("year") == "2028"
        assert other.text("year") == "2025"
        other.assert_offline()
    finally:
        other.close()
    session.assert_offline()


# ---------------------------------------------------------------- state the page must keep


def _choose_scenario(session, name: str) -> None:
    session.page.locator(".armsrace-scenario-select").click()
    session.page.locator(".v-menu__content .v-list-item", has_text=name).click()
    expect(session.page.locator(".armsrace-dashboard h2")).to_have_text(f"Scenario: {name}")


def _reset(session) -> None:
    session.page.get_by_role("button", name="Reset").click()
    session.page.wait_for_function("() => document.querySelector('.armsrace-year').textContent.trim() === '2024'")


def test_reset_after_choosing_a_scenario_keeps_it(session):
    session.open().wait_for_charts()
    _choose_scenario(session, "nato_precedent_5")
    session.wait_for_charts()
    session.step(2)
    _reset(session)
    expect(session.page.locator(".armsrace-dashboard h2")).to_have_text("Scenario: nato_precedent_5")
    run = session.page.locator(".armsrace-run-params")
    expect(run).to_contain_text("US demand of allies 5.0% of GDP")
    expect(run).to_contain_text("US insistence 1.2")
    session.assert_offline()


def test_a_slider_then_reset_applies_to_the_chosen_scenario(session):
    session.open().wait_for_charts()
    _choose_scenario(session, "nato_precedent_5")
    demand = session.slider("US demand of allies")
    demand.focus()
    session.page.keyboard.press("End")  # the maximum, from the parameter spec
    expect(session.page.locator(".armsrace-control-us_demand")).to_have_text("20.0%")
    _reset(session)
    expect(session.page.locator(".armsrace-dashboard h2")).to_have_text("Scenario: nato_precedent_5")
    run = session.page.locator(".armsrace-run-params")
    expect(run).to_contain_text("US demand of allies 20.0% of GDP")
    expect(run).to_contain_text("US insistence 1.2")  # the scenario's, not the baseline's 1
    session.assert_offline()


def test_a_visit_to_the_results_tab_keeps_the_run(session):
    session.open().wait_for_charts()
    _choose_scenario(session, "nato_precedent_5")
    session.wait_for_charts()
    session.step(3)
    spending, burden = session.text("regional-spending"), session.text("regional-burden")
    session.page.get_by_role("tab", name="Results").click()
    session.page.wait_for_selector("text=Results:")
    session.page.get_by_role("tab", name="Simulation").click()
    session.wait_for_charts()
    assert session.text("year") == "2027"
    assert (session.text("regional-spending"), session.text("regional-burden")) == (spending, burden)
    expect(session.page.locator(".armsrace-dashboard h2")).to_have_text("Scenario: nato_precedent_5")
    expect(session.page.locator(".armsrace-scenario-select")).to_contain_text("nato_precedent_5")
    session.step(1)  # and the run goes on from 2027
    assert session.text("year") == "2028"
    session.assert_offline()


def test_a_reload_keeps_the_run_of_the_browser_session(session):
    """The session cookie survives a reload, so the run does (rebuilt from its seed and steps)."""
    session.open().wait_for_charts()
    session.step(3)
    spending = session.text("regional-spending")
    session.page.reload()
    session.wait_for_charts()
    assert session.text("year") == "2027" and session.text("regional-spending") == spending
    session.assert_offline()


def test_sliders_show_their_value_in_the_pages_units_and_no_raw_mesa_controls(session):
    session.open().wait_for_charts()
    page = session.page
    expect(page.locator(".armsrace-control-us_demand")).to_have_text("2.0%")  # visible without dragging
    expect(session.slider("US demand of allies")).to_have_attribute("aria-valuenow", "2")  # in %, not 0.02
    expect(page.locator(".armsrace-control-alliance_credibility")).to_have_text("0.80")
    for raw in ("Render Interval", "Use Threads", "Time:", "Play Interval (ms)"):
        assert page.get_by_text(raw).count() == 0 or not page.get_by_text(raw).first.is_visible(), raw
    session.assert_offline()


def test_results_page_shows_one_chart_across_sweeps_runs_and_comparisons(session, results_root):
    session.open("results")
    page = session.page
    page.wait_for_selector("img.armsrace-result-compare-x-vs-y")  # first folder by name, selected by default
    page.locator(".armsrace-results-select").click()
    for name in ("synthetic", "tiny", "run-baseline"):
        expect(page.locator(".v-menu__content .v-list-item", has_text=name).first).to_be_visible()
    page.locator(".v-menu__content .v-list-item", has_text="synthetic").click()
    page.locator(".v-menu__content .v-list-item", has_text="tiny").click()
    page.keyboard.press("Escape")
    expect(page.locator(".menuable__content__active")).to_have_count(0)  # the folder menu has closed
    page.wait_for_selector("img.armsrace-result-tiny", timeout=120_000)  # drawn by write_plots first
    assert (results_root / "tiny" / "plots").is_dir()
    expect(page.locator(".armsrace-results-loading")).to_have_count(0)  # the chart list is final
    page.locator(".armsrace-chart-select").click()
    fan = page.locator(".menuable__content__active .v-list-item", has_text="Fan chart")
    expect(fan).to_be_visible()
    fan.click()
    page.wait_for_selector("img.armsrace-result-synthetic")
    expect(page.locator("img.armsrace-result-chart")).to_have_count(2)  # one chart type: one image per folder
    assert page.locator("img.armsrace-result-synthetic").count() == 1
    assert page.locator(".armsrace-results-row", has_text="compare-x-vs-y").get_by_text(
        "(this chart is not in this folder)").count() == 1
    page.wait_for_function("() => [...document.querySelectorAll('img.armsrace-result-chart')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    width = page.evaluate("() => document.querySelector('img.armsrace-result-tiny').getBoundingClientRect().width")
    assert width >= 900  # full width of the page at 1400-1600 px, not a quarter of it
    session.shot("05-results")
    page.get_by_role("tab", name="Simulation").click()
    session.wait_for_charts()
    session.assert_offline()


def test_results_page_shows_folder_names_as_text_and_follows_no_symlink(session, results_root):
    """A folder name that is a Vue template runs nothing; symlinked folders and charts are not listed."""
    session.open("results")
    page = session.page
    page.wait_for_selector("img.armsrace-result-compare-x-vs-y")
    page.locator(".armsrace-results-select").click()
    items = page.locator(".v-menu__content .v-list-item")
    names = [t.strip() for t in items.all_inner_texts()]
    assert XSS_NAME in names  # listed, as the text it is
    assert "linked" not in names  # a symlinked folder is not listed
    items.filter(has_text="constructor").click()
    page.keyboard.press("Escape")
    # the rows are re-rendered while the new folder's charts load: wait until that is over, then the
    # folder has exactly one row (expect retries; a transient second copy mid-render is not a failure)
    expect(page.locator(".armsrace-results-loading")).to_have_count(0, timeout=30_000)
    row = page.locator(".armsrace-results-row", has_text="constructor")
    expect(row).to_have_count(1)
    expect(row.locator(".armsrace-results-folder").first).to_have_text(XSS_NAME)
    page.wait_for_function("() => document.querySelectorAll('img.armsrace-result-chart').length >= 1")
    assert page.evaluate("() => window.__xss") is None  # no template was evaluated
    page.locator(".armsrace-chart-select").click()
    charts = [t.strip() for t in page.locator(".v-menu__content .v-list-item").all_inner_texts()]
    assert "Leak" not in charts and "Fan chart" in charts  # a symlinked chart is never offered
    session.assert_offline()


# ---------------------------------------------------------------- Mesa's own SolaraViz page


@pytest.fixture(scope="session")
def mesa_server(chromium_path, tmp_path_factory):
    """``solara run tests/apps/mesa_solaraviz.py`` (Mesa's SolaraViz of the model) on a free loopback port."""
    from model.viz.offline_assets import OFFLINE_ENV, SOLARA_RUN_FLAGS

    app = Path(__file__).with_name("apps") / "mesa_solaraviz.py"
    cmd = [sys.executable, "-m", "solara", "run", str(app), "--host", "127.0.0.1", "--port", str(free_port()),
           "--production", "--no-open", *SOLARA_RUN_FLAGS]
    log = tmp_path_factory.mktemp("mesa-page") / "server.log"
    with serving("the Mesa page (solara run)", cmd, log, {**OFFLINE_ENV, **SERVER_ENV}) as url:
        yield Server(url, log)


def test_mesas_own_solaraviz_page_draws_the_model_and_resets_to_the_chosen_scenario(browser, mesa_server):
    """Mesa's page with make_space_component and make_plot_component of burden_JPN; Reset after a scenario."""
    s = Session(browser, mesa_server).open()
    page = s.page
    try:
        info = page.locator(".mesa-run-info")
        expect(info).to_have_text("scenario None · insistence 1 · year 2024")
        page.wait_for_function("() => document.querySelectorAll('img').length >= 4"
                               " && [...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth)")
        page.get_by_role("button", name="Step").click()
        expect(info).to_have_text("scenario None · insistence 1 · year 2025")
        page.locator(".v-select", has_text="Scenario").click()
        page.locator(".v-menu__content .v-list-item", has_text="nato_precedent_5").click()
        page.get_by_role("button", name="Reset").click()
        expect(info).to_have_text("scenario nato_precedent_5 · insistence 1.2 · year 2024")
        page.get_by_role("button", name="Step").click()
        expect(info).to_have_text("scenario nato_precedent_5 · insistence 1.2 · year 2025")
        assert page.get_by_text("error in").count() == 0  # ModelController shows errors as "error in step: ..."
        page.wait_for_function("() => [...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth)")
        s.shot("06-mesa-solaraviz")
        s.assert_offline()
    finally:
        s.close()
