"""Running out of the process's own resources (descriptors, memory), and a spare descriptor.

A server that cannot accept because its process is out of file descriptors must neither
spin on the accept (the listener stays readable) nor lose the one connection that would
let an operator see and act: it closes a descriptor kept in reserve, accepts into it,
then makes room (sheds an idle connection) and takes its reserve back.
"""

from __future__ import annotations

import contextlib
import errno
import os

RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
"""Errors that say this process (or the host) is short of something, not that the other
side or the configuration is wrong: retry later, blame no one else."""


def out_of_resources(exc: BaseException, *, spawning: bool = False) -> bool:
    """True for an OSError whose cause is our own shortage (EMFILE, ENFILE, ENOMEM, and
    when `spawning` a fork's EAGAIN: too many processes). On a socket EAGAIN is the other
    side's full queue, not ours."""
    if not isinstance(exc, OSError):
        return False
    return exc.errno in RESOURCE_ERRNOS or (spawning and exc.errno == errno.EAGAIN)


class SpareDescriptor:
    """One descriptor (on /dev/null) held so that it can be given up when none is left."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self.take()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def take(self) -> bool:
        """Hold the spare again if it was released (and a descriptor is free); True if held."""
        if self._fd is None:
            with contextlib.suppress(OSError):
                self._fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        return self._fd is not None

    def release(self) -> bool:
        """Give the spare up so the next open or accept can succeed; False if not held."""
        if self._fd is None:
            return False
        os.close(self._fd)
        self._fd = None
        return True

    def close(self) -> None:
        self.release()
