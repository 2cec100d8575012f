"""The browser view without a browser: controls, model factory, live charts, results helpers, CLI.

The page is rendered with solara's test renderer (``solara.render``) inside an AppLayout, so the
sidebar (SolaraViz's controls) exists, and its Step button is clicked as a user would.
"""

from __future__ import annotations

import io
import json
import time

import ipyvuetify as v
import ipywidgets
import numpy as np
import pytest
import solara
from mesa.experimental.scenarios import Scenario as MesaScenario
from PIL import Image

from model.batch import store
from model.errors import ParameterError
from model.sim.model import ArmsRaceModel
from model.sim.params import specs
from model.viz import app, controls, pages_results, state
from model.viz.charts import CHARTS, NetworkChart, _nice_top

# ---------------------------------------------------------------- controls


def test_every_control_takes_its_bounds_from_the_parameter_specs_in_the_pages_units():
    for name in controls.MAIN_PARAMETERS:
        spec, ctl = specs()[name], controls.control(name)
        if spec.kind == "bool":
            assert ctl.kind == "bool"
            continue
        scale = 100 if spec.unit == "share of GDP" else 1
        assert (ctl.low, ctl.high, ctl.scale) == (spec.low * scale, spec.high * scale, scale), name
        assert 100 <= (ctl.high - ctl.low) / ctl.step <= 1000
    demand = controls.control("us_demand")
    assert demand.label == "US demand of allies (% of GDP)" and demand.shown(0.035) == 3.5
    assert demand.stored(3.5) == 0.035 and demand.text(0.035) == "3.5%"
    assert controls.control("alliance_credibility").text(0.8) == "0.80"
    assert controls.control("counterattack").text(True) == "yes"


def test_controls_start_at_the_chosen_scenarios_values():
    values = controls.page_controls("nato_precedent_5", seed=4)
    assert values["scenario_name"] == "nato_precedent_5" and values["seed"] == "4"
    assert values["us_demand"] == 0.05 and values["us_insistence"] == 1.2
    assert controls.page_controls("counterattack_codified")["counterattack"] is True
    m = controls.PageModel(**values)  # what Reset builds
    assert m.scenario_file.name == "nato_precedent_5" and m.seed == 4 and m.params["us_insistence"] == 1.2


def test_scenario_model_is_the_scenario_with_overrides_and_seed():
    a = controls.ScenarioModel(scenario_name="credibility_shock", seed="7", threat_noise=0.2, us_demand=0.05)
    b = ArmsRaceModel.from_scenario("credibility_shock", rng=7, threat_noise=0.2, us_demand=0.05)
    for _ in range(6):
        a.step()
        b.step()
    pa, pb = a.paths(), ArmsRaceModel.paths(b)
    for var in pb:
        np.testing.assert_array_equal(pa[var], pb[var])
    assert a.summary()["security_dilemma_index"] == b.summary()["security_dilemma_index"]
    assert (a.seed, a.scenario_file.name) == (7, "credibility_shock")


def test_scenario_model_accepts_what_solaraviz_passes_on_reset():
    # Mesa's Reset adds its own Scenario object as `scenario=`; the seed box gives text.
    m = controls.ScenarioModel(scenario=MesaScenario(), scenario_name="restraint", seed=" 3 ", us_demand=0.03)
    assert m.params["us_demand"] == 0.03 and m.params["hostility_scale"] == 0.5 and m.seed == 3


@pytest.mark.parametrize("seed", ["abc", "-1", "1.5", True])
def test_bad_seed_is_a_parameter_error(seed):
    with pytest.raises(ParameterError, match=r"The 'seed' parameter must be an integer in \[0, 2\*\*63 - 1\]"):
        controls.ScenarioModel(seed=seed)


def test_page_model_survives_a_bad_seed_and_says_so():
    m = controls.PageModel(scenario_name="baseline", seed="abc", us_demand=0.04)
    assert m.seed == 0 and m.params["us_demand"] == 0.04
    assert m.input_error.startswith("The 'seed' parameter must be an integer in [0, 2**63 - 1]. Got 'abc'")
    assert controls.PageModel(seed="12").input_error is None


def test_paths_cache_follows_the_steps():
    m = controls.ScenarioModel()
    first = m.paths()
    assert first["burden"].shape == (1, 7)
    m.step()
    assert m.paths()["burden"].shape == (2, 7)
    np.testing.assert_array_equal(m.paths()["spending"], ArmsRaceModel.paths(m)["spending"])


def test_describe_run_shows_units():
    text = controls.describe_run(controls.ScenarioModel(scenario_name="nato_precedent_5").params)
    assert "US demand of allies 5.0% of GDP" in text and "counterattack capacity: no" in text


# ---------------------------------------------------------------- charts


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(data)).size


@pytest.mark.parametrize("name", list(CHARTS))
def test_incremental_drawing_equals_a_full_redraw(name):
    m = ArmsRaceModel.from_scenario("nato_precedent_5", rng=0)
    chart = CHARTS[name](m)
    first = chart.png(m)
    for _ in range(7):
        m.step()
        incremental = chart.png(m)
    chart.invalidate()
    assert chart.png(m) == incremental
    assert incremental != first
    assert _png_size(incremental) == (580, 360)


def test_network_is_drawn_from_the_relation_graph_at_fixed_positions():
    m = ArmsRaceModel.from_scenario("richardson", rng=0)  # two countries only
    chart = NetworkChart(m)
    assert chart.countries == ["JPN", "CHN"]
    chart.png(m)
    assert len(chart.nodes.get_offsets()) == 2
    assert "Japan" in chart.labels["JPN"].get_text()


def test_nice_axis_limits():
    assert [_nice_top(x) for x in (0.07, 1.0, 2.2, 7.1, 95)] == [0.08, 1.0, 2.5, 8.0, 100.0]


# ---------------------------------------------------------------- page


def _texts(rc, name: str) -> list[str]:
    """Text of the headline value ``name`` (year, escalation, sdi, ...)."""
    return [w.children[0] for w in rc.find(v.Html, class_=f"armsrace-value armsrace-{name}").widgets]


def _images(rc, cls: str) -> list:
    return [w for w in rc.find(ipywidgets.Image).widgets if cls in w._dom_classes]


@pytest.fixture
def fresh_page():
    """The page's state (kernel-scoped; one global scope outside a server) starts afresh."""
    state.forget()
    yield
    state.forget()


def test_page_renders_steps_and_uses_spec_bounds_without_a_browser(fresh_page):
    box, rc = solara.render(solara.AppLayout(children=[app.SimulationPage()]), handle_error=False)
    try:
        assert _texts(rc, "year") == ["2024"]
        images = _images(rc, "armsrace-chart")
        assert len(images) == 4
        before = [bytes(w.value) for w in images]
        step = rc.find(v.Btn, children=["Step"]).widget
        for _ in range(3):
            step.click()
        assert _texts(rc, "year") == ["2027"]
        assert _texts(rc, "escalation")[0] in ("stable", "buildup", "spiral")
        assert all(bytes(w.value) != b for w, b in zip(images, before, strict=True))
        for _ in range(20):  # to the end of the horizon: Step is disabled, the year tile says so
            step.click()
        assert _texts(rc, "year") == ["2040"] and step.disabled
        assert "end of horizon" in rc.find(v.Html, class_="armsrace-detail").widgets[0].children[0]
        sliders = {w.label: w for w in rc.find(v.Slider).widgets}
        for name in controls.MAIN_PARAMETERS:
            ctl = controls.control(name)
            if ctl.kind == "float":
                assert (sliders[ctl.label].min, sliders[ctl.label].max) == (ctl.low, ctl.high)
        assert not any("Render Interval" in label or "Use Threads" in label for label in sliders)
    finally:
        rc.close()


def test_reset_rebuilds_the_chosen_scenario_with_the_controls(fresh_page):
    box, rc = solara.render(solara.AppLayout(children=[app.SimulationPage()]), handle_error=False)
    try:
        state.choose_scenario("nato_precedent_5")
        rc.find(v.Btn, children=["Step"]).widget.click()
        demand = controls.control("us_demand")
        rc.find(v.Slider, label=demand.label).widget.v_model = 12.0  # the slider moves in %
        assert state.controls.value["us_demand"] == 0.12
        rc.find(v.Btn, children=["Reset"]).widget.click()
        m = state.model.value
        assert (m.scenario_file.name, m.year, m.params["us_demand"], m.params["us_insistence"]) == \
            ("nato_precedent_5", 2024, 0.12, 1.2)
    finally:
        rc.close()


def test_a_bad_scenario_file_is_named_and_hides_no_other(fresh_page, tmp_path, monkeypatch):
    import shutil

    from model.sim import scenarios

    for p in scenarios.SCENARIO_DIR.glob("*.toml"):
        shutil.copy(p, tmp_path / p.name)
    (tmp_path / "broken.toml").write_bytes(b"[parameters]\nus_demand = \xff\n")  # not UTF-8
    monkeypatch.setattr(scenarios, "SCENARIO_DIR", tmp_path)
    box, rc = solara.render(solara.AppLayout(children=[app.SimulationPage()]), handle_error=False)
    try:
        select = rc.find(v.Select, label="Scenario").widget
        assert "baseline" in select.items and "broken" not in select.items
        assert len(select.items) == len(list(tmp_path.glob("*.toml"))) - 1
        warnings = [w.children for w in rc.find(v.Alert).widgets if "broken.toml" in str(w.children)]
        assert len(warnings) == 1
    finally:
        rc.close()


def test_a_snapshot_rebuilds_the_same_run():
    run = controls.PageModel(scenario_name="credibility_shock", seed="5", threat_noise=0.1)
    for _ in range(4):
        run.step()
    again = state.rebuild(state.Snapshot(run.build_kwargs, run.year, {}))
    assert again.year == 2028
    for var, values in run.paths().items():
        np.testing.assert_array_equal(values, again.paths()[var])


def test_no_model_is_built_at_import():
    assert not any(isinstance(value, ArmsRaceModel) for value in vars(app).values())
    assert [r.path for r in app.routes] == ["/", "results"]


# ---------------------------------------------------------------- results helpers


def _result_folder(root, name, charts=("b_chart", "a_chart")):
    folder = root / name
    (folder / "plots").mkdir(parents=True)
    manifest = {"experiment": {"experiment": {"description": f"{name} test"}}, "n_runs": 12,
                "design": {"kind": "grid", "varied": ["us_demand"]}, "created_utc": "2026-01-02T03:04:05"}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    for stem in charts:
        Image.new("RGB", (20, 10), "white").save(folder / "plots" / f"{stem}.png")
    return folder


def test_results_list_sweeps_runs_and_comparisons_but_no_symlinks(tmp_path):
    sweep = _result_folder(tmp_path, "sweep_a")
    run, cmp = tmp_path / "run-baseline", tmp_path / "compare-a-vs-b"
    run.mkdir()
    for name in ("summary.json", "metadata.json"):
        (run / name).write_text(json.dumps({"scenario": "baseline", "seed": 0, "escalation": "stable"}))
    Image.new("RGB", (20, 10)).save(run / "burden.png")
    cmp.mkdir()
    (cmp / "compare.json").write_text(json.dumps({"inputs": [{"label": "a"}, {"label": "b"}]}))
    Image.new("RGB", (20, 10)).save(cmp / "fan_difference.png")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    Image.new("RGB", (20, 10)).save(outside / "secret.png")
    (sweep / "plots" / "leak.png").symlink_to(outside / "secret.png")  # a chart pointing out of results/
    (tmp_path / "linked").symlink_to(sweep, target_is_directory=True)  # a folder that is a symlink
    assert store.browsable_folders(tmp_path) == [(cmp, "comparison"), (run, "run"), (sweep, "sweep")]
    assert [p.name for p in pages_results.chart_files(sweep, "sweep", tmp_path)] == ["a_chart.png", "b_chart.png"]
    assert [p.name for p in pages_results.chart_files(run, "run", tmp_path)] == ["burden.png"]
    assert pages_results.describe(run, "run") == "run of scenario baseline (seed 0): stable"
    assert pages_results.describe(cmp, "comparison") == "comparison of a vs b"
    from model.errors import OutputError

    with pytest.raises(OutputError):
        store.read_chart(sweep / "plots" / "leak.png", tmp_path)


def test_result_folders_and_their_charts(tmp_path, monkeypatch):
    a = _result_folder(tmp_path, "sweep_a")
    (tmp_path / "no_manifest" / "plots").mkdir(parents=True)
    monkeypatch.setenv(pages_results.RESULTS_ENV, str(tmp_path))
    assert pages_results.results_root() == tmp_path
    assert store.browsable_folders(tmp_path) == [(a, "sweep")]  # not the folder without a manifest
    assert [p.stem for p in pages_results.ensure_charts(a)] == ["a_chart", "b_chart"]
    assert pages_results.describe(a) == "sweep_a test · grid design over us_demand · 12 runs · 2026-01-02 03:04"
    assert pages_results.chart_title("fan_chart") == "Fan chart"
    assert store.browsable_folders(tmp_path / "missing") == []


def test_two_sessions_opening_an_undrawn_sweep_draw_it_once(tmp_path, monkeypatch):
    """Sessions are threads of one server: the second waits for the first's charts instead of
    listing a half-drawn plots/ or drawing the same files at the same time."""
    import threading

    import model.charts.sweep as sweep_charts

    folder = tmp_path / "undrawn"
    folder.mkdir()
    (folder / "manifest.json").write_text("{}")
    calls, started = [], threading.Event()

    def slow_write_plots(f):
        calls.append(f)
        (f / "plots").mkdir()
        (f / "plots" / "a_chart.png").write_bytes(b"png")
        started.set()
        time.sleep(0.3)  # the second chart is still being drawn
        (f / "plots" / "b_chart.png").write_bytes(b"png")

    monkeypatch.setattr(sweep_charts, "write_plots", slow_write_plots)
    results = {}
    first = threading.Thread(target=lambda: results.setdefault("first", pages_results.ensure_charts(folder)))
    first.start()
    started.wait(5)
    second = pages_results.ensure_charts(folder)
    first.join()
    assert len(calls) == 1
    assert [p.stem for p in second] == [p.stem for p in results["first"]] == ["a_chart", "b_chart"]


def test_results_page_shows_the_selected_folders_charts(tmp_path, monkeypatch):
    _result_folder(tmp_path, "sweep_a")
    monkeypatch.setenv(pages_results.RESULTS_ENV, str(tmp_path))
    box, rc = solara.render(solara.AppLayout(children=[app.ResultsTab()]), handle_error=False)
    try:
        for _ in range(200):  # the charts are listed by a task in a thread
            if _images(rc, "armsrace-result-sweep_a"):
                break
            time.sleep(0.05)
        assert len(_images(rc, "armsrace-result-chart")) == 1  # one chart type at a time
        assert rc.find(v.Select, label="Chart shown").widget.items == ["A chart", "B chart"]
    finally:
        rc.close()


# ---------------------------------------------------------------- command


def test_viz_command_defaults_and_server_settings(tmp_path):
    from model.cli import build_parser
    from model.commands import viz
    from model.viz.offline_assets import OFFLINE_ENV

    args = build_parser().parse_args(["viz"])
    assert (args.host, args.port, args.results) == ("127.0.0.1", 8765, None)
    cmd = viz.server_command("127.0.0.1", 9000)
    assert cmd[1:4] == ["-m", "solara", "run"] and "model.viz.app" in cmd
    assert {"--no-check-version", "--production", "--no-open"} <= set(cmd)
    env = viz.server_env(tmp_path)
    assert all(env[k] == val for k, val in OFFLINE_ENV.items())
    assert env[viz.RESULTS_ENV] == str(tmp_path.resolve()) and viz.RESULTS_ENV == pages_results.RESULTS_ENV


@pytest.mark.parametrize("argv, message", [(["--port", "70000"], "'--port' option must be an integer"),
                                           (["--results", "/no/such/dir"], "'--results' option must be")])
def test_viz_command_rejects_bad_options(argv, message, capsys):
    from model.cli import main

    assert main(["viz", *argv]) == 2
    assert message in capsys.readouterr().err


class _FakeServer:
    """Stands in for the solara server process: records its command line, exits at once."""

    commands: list[list[str]] = []

    def __init__(self, cmd, env=None):
        _FakeServer.commands.append(cmd)
        self.returncode = 0

    def wait(self, timeout=None):
        return 0

    def poll(self):
        return 0


def test_viz_port_0_starts_the_server_on_the_free_port_it_prints(monkeypatch, capsys):
    import re
    import socket

    from model.cli import build_parser
    from model.commands import viz

    monkeypatch.setattr(viz, "assets_ready", lambda: True)
    monkeypatch.setattr(viz.subprocess, "Popen", _FakeServer)
    _FakeServer.commands.clear()
    args = build_parser().parse_args(["viz", "--port", "0"])
    assert viz.run(args) == 0
    printed = re.search(r"serving http://127\.0\.0\.1:(\d+)/", capsys.readouterr().out)
    assert printed, "the address must be printed"
    port = int(printed.group(1))
    cmd = _FakeServer.commands[-1]
    assert port != 0 and cmd[cmd.index("--port") + 1] == str(port)
    with socket.socket() as s:  # free: nothing kept it bound
        s.bind(("127.0.0.1", port))
    # an explicit port is passed through unchanged
    assert viz.run(build_parser().parse_args(["viz", "--port", "8799"])) == 0
    cmd = _FakeServer.commands[-1]
    assert cmd[cmd.index("--port") + 1] == "8799" and "http://127.0.0.1:8799/" in capsys.readouterr().out


def test_viz_missing_assets_says_npm_itself_is_not_needed(monkeypatch, capsys):
    from model.cli import build_parser
    from model.commands import viz

    monkeypatch.setattr(viz, "assets_ready", lambda: False)
    assert viz.run(build_parser().parse_args(["viz"])) == 2  # a one-line error the user can fix, like every other
    err = capsys.readouterr().err
    assert "python -m model.viz.offline_assets" in err
    assert "needs the npm registry or a mirror, not npm itself" in err and "(needs npm)" not in err
    assert "(with npm)" not in viz.HELP and "npm itself is not needed" in viz.HELP
