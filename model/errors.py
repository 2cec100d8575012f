"""Every error class of the package, in one place (after EMA Workbench's ``util/ema_exceptions.py``).

All of them are :class:`ParameterError`: something the user gave (a parameter, a file, a folder, an
option) cannot be used. Their messages are one line naming the field and the value, in the form
``The 'us_demand' parameter must be a number in [0, 0.2]. Got 1.7 instead.``; the command line
prints that line and exits with status 2. Anything else that escapes is a bug.
"""

from __future__ import annotations


class ParameterError(ValueError):
    """A parameter, scenario or experiment value is invalid; the message is one line for users."""


class UsageError(ParameterError):
    """A command-line value is invalid."""


class OutputError(ParameterError):
    """An output folder or file cannot be written."""


class WriteError(OutputError):
    """A file cannot be written (a full disk, a read-only or vanished folder): ``path`` and the system's
    ``reason``. Raised by the store's writers; a staged command reports the file where it was going."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"The file {str(path)!r} cannot be written: {reason}.")
        self.path = str(path)
        self.reason = reason

    def __reduce__(self):
        return type(self), (self.path, self.reason)


class ResumeError(ParameterError):
    """A sweep cannot be resumed (or would overwrite another sweep)."""


class LockedError(ResumeError):
    """Another sweep holds the result folder's lock (the message names its process and host)."""


class ClusterError(ParameterError):
    """The Dask cluster cannot run the sweep: the address is not a Dask scheduler, it has no workers, all
    were lost, or a worker has other model code or data than the client."""


class IndicesUndefined(ParameterError):
    """Sensitivity indices cannot be computed for an output (``reason``: missing values, no variance,
    or no variance within the Saltelli blocks)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
