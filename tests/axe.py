"""axe-core for the browser checks, as pinned in tests/browser_tools and installed by npm.

The install (~20 s, mostly the download) starts in the background when the test run starts, so
that the first accessibility check does not wait for it; `install_axe` waits for it or does it.
Run as `python -m tests.axe` it installs and exits.
"""

import fcntl
import shutil
import subprocess
import sys
from pathlib import Path

TOOLS = Path(__file__).parent / "browser_tools"
AXE = TOOLS / "node_modules" / "axe-core" / "axe.min.js"


def install_axe() -> bool:
    """axe-core installed (one process at a time, under a lock); False where npm is missing."""
    with (TOOLS / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if AXE.exists():
            return True
        npm = shutil.which("npm")
        if npm is None:
            return False
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=TOOLS, check=True, capture_output=True)
        return True


def start_installing_axe() -> None:
    """Install axe-core in a background process if it is missing (the run goes on meanwhile)."""
    if not AXE.exists() and shutil.which("npm"):
        subprocess.Popen([sys.executable, "-m", "tests.axe"], cwd=TOOLS.parents[1], stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    install_axe()
