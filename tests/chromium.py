"""Debian's chromium, which the browser tests drive: CI installs it (.ci/run); elsewhere the
browser test modules are skipped, each of them, before they import playwright or each other."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def require_chromium() -> None:
    """Skip the calling test module where chromium is missing (an error in CI, which must have it)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            raise RuntimeError("CI must install Debian's chromium (see .ci/run)")
        pytest.skip("Debian's chromium is not installed here", allow_module_level=True)
