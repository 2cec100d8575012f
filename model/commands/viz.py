"""``armsrace viz``: serve the browser view (Mesa SolaraViz, :mod:`model.viz.app`) on this machine."""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import ipaddress
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from model.errors import UsageError

ORDER = 70
RESULTS_ENV = "ARMSRACE_RESULTS_DIR"
"""Read by :func:`model.viz.pages_results.results_root` (kept equal; importing it here would load solara
for every armsrace command)."""
APP_MODULE = "model.viz.app"
HELP = """\
Serve the interactive view of the model in the browser (Mesa SolaraViz) and print its address.

Simulation tab: pick a scenario, set the main parameters (shares of GDP in %) and the seed, then
Step, Play or Reset (Reset rebuilds the chosen scenario with the controls' values); see the
alliance/rivalry network, military burden (% of GDP) with the 2%, 3.5% and 5% lines, perceived
threat, US alliance pressure, the current year, escalation class and security-dilemma index. The
run survives a visit to the Results tab and a reload. Results tab: one chart type at a time across
the chosen sweep, run and comparison folders (symlinked folders and charts are never shown).

The page needs no internet access: front-end files are served from the local cache that
'python -m model.viz.offline_assets' fills once (from the npm registry or a mirror set in
$npm_config_registry; npm itself is not needed). --port 0 picks a free port and prints it.
Stop the server with Ctrl-C.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("viz", help="serve the interactive browser view (SolaraViz) and results browser",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only; the page has no login, "
                        "so any other address is warned about)")
    p.add_argument("--port", type=int, default=8765,
                   help="port to listen on (default: 8765; 0: a free port, chosen here and printed)")
    p.add_argument("--results", type=Path, default=None, metavar="DIR",
                   help=f"folder of result folders for the Results tab (default: ${RESULTS_ENV} or results/)")
    p.set_defaults(func=run)


def server_command(host: str, port: int) -> list[str]:
    """The ``solara run`` command line (production mode: no reloader, no version or usage checks)."""
    from model.viz.offline_assets import SOLARA_RUN_FLAGS

    return [sys.executable, "-m", "solara", "run", APP_MODULE, "--host", host, "--port", str(port),
            "--production", "--no-open", *SOLARA_RUN_FLAGS]


def server_env(results: Path | None) -> dict[str, str]:
    """This process's environment plus the offline settings and the absolute results folder."""
    from model.viz.offline_assets import OFFLINE_ENV

    env = {**os.environ, **OFFLINE_ENV}
    root = results if results is not None else Path(os.environ.get(RESULTS_ENV) or "results")
    env[RESULTS_ENV] = str(root.resolve())
    return env


def check_address(host: str, port: int) -> tuple[int, bool]:
    """Check that the server can listen on ``host:port`` before saying it serves there: the host resolves
    and the port can be bound (as the server binds it, with SO_REUSEADDR). Port 0 takes a free port.

    Returns:
        ``(port, loopback)``: the port to use, and whether every address of ``host`` is this machine only.

    Raises:
        UsageError: the host cannot be resolved, or the port is in use or not allowed (one line each).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"The '--host' option must be an address or name of this machine. Got {host!r}, which "
                         f"cannot be resolved ({reason}).") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise UsageError(f"The '--host' option must be an address of this machine. Got {host!r} "
                                 f"({address[0]}), which is not ({exc.strerror}).") from None
            raise UsageError(f"The '--port' {port} on {host!r} cannot be used: {exc.strerror or exc} (another server "
                             f"on it?); choose another --port, or --port 0 for a free one.") from None
        chosen = int(s.getsockname()[1])
    loopback = all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)
    return chosen, loopback


def assets_ready() -> bool:
    """Whether the local front-end cache is complete (``offline_assets --check``, output hidden)."""
    from model.viz import offline_assets

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return offline_assets.main(["--check"]) == 0


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"The '--port' option must be an integer in [0, 65535]. Got {args.port} instead.")
    if args.results is not None and not args.results.is_dir():
        raise UsageError(f"The '--results' option must be an existing folder. Got {str(args.results)!r} instead.")
    if not assets_ready():
        print("armsrace viz: error: the page's front-end files are not installed; run "
              "'python -m model.viz.offline_assets' once (needs the npm registry or a mirror, not npm "
              "itself).", file=sys.stderr)
        return 2
    # Before saying "serving": the host resolves and the port is free (Solara would pick its own port for
    # 0 and not say which, and fail after the address was printed).
    port, loopback = check_address(args.host, args.port)
    if not loopback:
        print(f"armsrace viz: warning: --host {args.host} makes the page reachable from other machines, and it has "
              f"no login: anyone who reaches port {port} can use it and run the model on this machine. Keep the "
              f"default 127.0.0.1 and use an SSH tunnel (ssh -L {port}:127.0.0.1:{port} HOST) to share it.",
              file=sys.stderr, flush=True)
    # SIGINT / SIGTERM while the server starts are only recorded, and acted on once the server is known (it
    # is then stopped): raised in the middle of starting it, they would leave it running on its own.
    pending: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: pending.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    server = None
    try:
        print(f"armsrace viz: serving http://{args.host}:{port}/ (Ctrl-C to stop)", flush=True)
        server = subprocess.Popen(server_command(args.host, port), env=server_env(args.results))
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        if signal.SIGTERM in pending:
            _exit_on_sigterm(signal.SIGTERM, None)
        if pending:
            raise KeyboardInterrupt
        return server.wait()
    finally:  # Ctrl-C, SIGTERM or an error here: never leave the server running on its own
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if server is not None:
            _stop(server)


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _stop(server: subprocess.Popen) -> None:
    """Stop the server as Ctrl-C does (uvicorn shuts down on SIGINT), killing it if it hangs."""
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
