"""A page server for a real browser, shared by the browser tests and ``benchmarks/bench_viz.py``.

Debian's Chromium (never a Playwright-downloaded browser) with the flags that keep it quiet and
offline, free loopback ports, and :func:`serving`: start a page server in its own process group,
wait until its page answers, stop the whole group at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
READY_WITHIN = 90
"""Seconds a page server has to answer."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(name: str, cmd: list[str], log_path: Path, env: dict[str, str]) -> Iterator[str]:
    """Start ``cmd`` (a page server on the loopback port given after ``--port``) with ``env`` added
    to this process's environment and its output in ``log_path``; yield its URL once the page
    answers 200; stop its whole process group at the end.

    Raises:
        RuntimeError: the server exited (with the tail of its log) or did not answer in time.
    """
    port = cmd[cmd.index("--port") + 1]
    log = open(log_path, "w+")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}/"
    # this process's own proxy settings must not route the readiness check elsewhere
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + READY_WITHIN
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log.read()[-3000:]}")
            try:
                with opener.open(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer within {READY_WITHIN} s")
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and its children, started here
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
