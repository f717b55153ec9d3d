"""Standard descriptors 0/1/2 that are always open, inheritable and backed by sys.std*.

A process started with fd 0, 1 or 2 closed (a detached daemon, `cmd 1>&- 2>&-`, some
process managers) gets `sys.stdout`/`sys.stderr` set to None by Python: the first
`print(file=sys.stderr)` or logging call on them raises, and the next file the process
opens silently takes the free number, so stray output lands in a database or a socket.
Worse, a descriptor open but close-on-exec (python-daemon reopening /dev/null onto the
number it just closed) looks fine here and is closed in every child: a daemon's workers
then start without stdout/stderr. `ensure_standard_streams()` repairs all of that:
each of 0/1/2 is open (on /dev/null when it was not), inheritable, and `sys.stdin`,
`sys.stdout`, `sys.stderr` are file objects on them.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

STANDARD_FDS = (0, 1, 2)


def ensure_standard_streams() -> None:
    """Open the missing standard descriptors on /dev/null, make all three inheritable,
    and give Python a stream object for each one it lacks."""
    for fd in STANDARD_FDS:
        _ensure_fd(fd)
    if sys.stdin is None:
        sys.stdin = _stream(0, "r")
    if sys.stdout is None:
        sys.stdout = _stream(1, "w")
    if sys.stderr is None:
        sys.stderr = _stream(2, "w")


def _ensure_fd(fd: int) -> None:
    try:
        os.fstat(fd)
    except OSError:
        # The lowest free number is taken first: opening /dev/null fills exactly the gap
        # (lower gaps were filled by earlier iterations); dup2 covers anything else.
        opened = os.open(os.devnull, os.O_RDWR)
        if opened != fd:
            os.dup2(opened, fd)
            os.close(opened)
    os.set_inheritable(fd, True)


def _stream(fd: int, mode: str) -> TextIO:
    """A text stream on `fd` that never closes it (the descriptor outlives the object);
    output line-buffered, as Python's own stderr."""
    if mode == "r":
        return open(fd, encoding="utf-8", errors="backslashreplace", closefd=False)
    return open(fd, "w", 1, encoding="utf-8", errors="backslashreplace", closefd=False)
