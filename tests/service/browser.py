"""Headless Chromium (Debian's package) driven by Playwright, for the page tests; never downloads a browser.

``scripts/test.sh`` installs Debian's ``chromium`` when it is missing and the test command runs as
root with apt-get; elsewhere the browser tests skip, saying why. ``IPKG_CHROMIUM`` names another
Chromium binary.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> Path | None:
    """The Chromium binary to drive, or None when there is none on this machine."""
    named = os.environ.get("IPKG_CHROMIUM")
    candidates = [named] if named else ["/usr/bin/chromium", shutil.which("chromium") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


NO_BROWSER = (
    "no Chromium on this machine (looked for $IPKG_CHROMIUM, /usr/bin/chromium and chromium on PATH); "
    "scripts/test.sh installs Debian's chromium package when run as root with apt-get"
)
