"""Python's cyclic garbage collector, tuned for a server that holds many objects for hours.

A gateway holding 20,000 watch connections keeps over a million objects alive. With the
interpreter's defaults (a young collection every 700 allocations) every in-flight frame's
objects are promoted, and every few seconds a full collection walks the whole heap: ~1 s during
which no watch is answered (measured: frame-to-answer p99 0.8 s at 380 frames/s, 0.12 s with
the settings below). Larger young generations promote far fewer short-lived objects, so full
collections become rare; what the process built at start (modules, tables, compiled
statements) is frozen out of every collection, since it lives as long as the process.
See https://docs.python.org/3.11/library/gc.html (set_threshold, freeze).
"""

import gc

YOUNG_THRESHOLD = 50_000  # allocations between young collections (default 700)
OLDER_THRESHOLDS = (50, 100)  # young collections per middle one, middle ones per full one (default 10, 10)


def tune_for_server() -> None:
    """Call once the long-running process has built its app (not in tests: freezing is per process)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
