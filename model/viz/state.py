"""What the Simulation tab keeps for a user: the run, the controls, across tab visits and reloads.

Two levels, so that no model is ever shared between users:

* **Per page (kernel)**: :data:`model` (the run being shown) and :data:`controls` (the values the
  page's controls hold, i.e. the keyword arguments the next Reset builds the model from:
  ``scenario_name``, ``seed`` and the page's parameters) are kernel-scoped reactives. Solara keeps
  one value per browser page and builds it lazily, on first use, by a factory; a visit to the
  Results tab unmounts the Simulation page but not these values, so the run is still there on
  return.
* **Per browser session**: a reload opens a new page (a new kernel). Solara's session cookie
  survives it, so :func:`remember` records, per session id, what the run was built from and how far
  it got (:class:`Snapshot`: plain values, never the model object), and the factories rebuild the
  run from it (the model is deterministic given its parameters and seed: replaying the years gives
  the same numbers). A second tab of the same browser starts from a copy of the latest run of the
  session, and the two then go their own ways. At most :data:`MAX_SESSIONS` sessions are kept (the
  least recently used are dropped).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import solara
from solara.toestand import KernelStoreFactory

from model.viz.controls import DEFAULT_SCENARIO, PageModel, page_controls

MAX_SESSIONS = 256
"""Browser sessions whose last run is remembered for a reload."""


@dataclass(frozen=True)
class Snapshot:
    """A session's page: the run's build arguments and year, and the controls' values."""

    build: dict[str, Any]
    year: int
    controls: dict[str, Any]


_sessions: OrderedDict[str, Snapshot] = OrderedDict()
_lock = threading.Lock()


def _session_id() -> str | None:
    """The browser session's id (Solara's cookie), or None outside a server (tests, notebooks)."""
    try:
        return solara.get_session_id()
    except Exception:  # no kernel context: nothing to remember the page by
        return None


def remember(run: PageModel, values: dict[str, Any]) -> None:
    """Record the session's run (how it was built, its year) and controls, for a reload."""
    sid = _session_id()
    if sid is None:
        return
    snap = Snapshot(dict(run.build_kwargs), int(run.year), dict(values))
    with _lock:
        _sessions[sid] = snap
        _sessions.move_to_end(sid)
        while len(_sessions) > MAX_SESSIONS:
            _sessions.popitem(last=False)


def recall() -> Snapshot | None:
    """The session's last recorded page, if any."""
    sid = _session_id()
    if sid is None:
        return None
    with _lock:
        return _sessions.get(sid)


def rebuild(snap: Snapshot) -> PageModel:
    """The run of a snapshot: built from the same arguments and stepped to the same year."""
    run = PageModel(**snap.build)
    while run.year < snap.year and run.running:
        run.step()
    return run


def _first_model() -> PageModel:
    snap = recall()
    return rebuild(snap) if snap else PageModel(scenario_name=DEFAULT_SCENARIO)


def _first_controls() -> dict[str, Any]:
    snap = recall()
    return dict(snap.controls) if snap else page_controls(DEFAULT_SCENARIO)


model: solara.Reactive[PageModel] = solara.Reactive(KernelStoreFactory(_first_model, key="armsrace.viz.model"))
"""The page's run (one per browser page; built on first use)."""
controls: solara.Reactive[dict[str, Any]] = solara.Reactive(
    KernelStoreFactory(_first_controls, key="armsrace.viz.controls"))
"""The controls' values: the keyword arguments of :class:`~model.viz.controls.PageModel` for Reset."""
play_interval: solara.Reactive[int] = solara.reactive(300)
"""Pause between years when playing, ms."""


def choose_scenario(name: str) -> None:
    """A new run of scenario ``name``: controls set to its values (the seed is kept), model rebuilt."""
    values = page_controls(name, seed=controls.value.get("seed", "0"))
    controls.set(values)
    model.set(PageModel(**values))


def set_control(name: str, value: Any) -> None:
    """One control's new value; it applies to the run on Reset."""
    controls.set({**controls.value, name: value})


def forget() -> None:
    """Start this page afresh (the default scenario) and forget every session (for tests)."""
    with _lock:
        _sessions.clear()
    controls.set(page_controls(DEFAULT_SCENARIO))
    model.set(PageModel(scenario_name=DEFAULT_SCENARIO))
