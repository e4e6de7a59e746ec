"""Waiting for what another thread or process does (a listener, a broker, a dispatcher)."""

import time
from collections.abc import Callable


def eventually(check: Callable[[], bool], seconds: float = 10) -> bool:
    """Whether `check` comes true within `seconds` (polled every 50 ms)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
