"""Set-up of the Dask worker processes of a sweep's local cluster (``armsrace sweep --workers N``).

Dask imports this module in each worker process it starts and calls :func:`dask_setup` (a Dask
"preload"). Ctrl-C at a terminal reaches every process of the foreground group; the sweep itself
handles it (it stops the cluster, prints one line and leaves a resumable folder), so the workers
ignore it instead of each printing a traceback.
"""

from __future__ import annotations

import contextlib
import signal


def dask_setup(worker: object) -> None:
    """Ignore Ctrl-C (SIGINT) in this worker process; its sweep stops it."""
    with contextlib.suppress(ValueError):  # only the main thread may set handlers
        signal.signal(signal.SIGINT, signal.SIG_IGN)
