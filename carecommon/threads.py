"""The operating system's name for a thread: what `top -H`, `ps -L` and /proc/<pid>/task/*/comm show.

Python 3.11 leaves every thread of a process named like the process, so a busy thread could not
be told from another outside it (Python 3.14 names them itself). The benchmark reads the
dispatcher's threads' CPU by these names to tell composing an alert's messages from sending them.
"""

import ctypes
import ctypes.util
import sys
import threading

PR_SET_NAME = 15  # prctl(2): the calling thread's name, at most 15 bytes
_libc: ctypes.CDLL | None = None


def name_os_thread(name: str | None = None) -> None:
    """Give the calling thread's OS thread its Python name (or `name`); a no-op where Linux's prctl is missing."""
    global _libc
    if not sys.platform.startswith("linux"):
        return
    try:
        if _libc is None:
            _libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        _libc.prctl(PR_SET_NAME, (name or threading.current_thread().name).encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):  # no libc to load, or no prctl in it: names are a convenience
        return
