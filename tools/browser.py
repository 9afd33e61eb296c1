"""Find Chromium or Google Chrome for the site tests: $EMBEDLAB_CHROME, the PATH, the usual places.

`python tools/browser.py` prints the browser's path, or exits with status 1 when there is none.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_PLACES = (
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/usr/bin/chromium", "/usr/bin/google-chrome", "/snap/bin/chromium", "/opt/google/chrome/chrome",
)


def find_browser() -> str | None:
    """The browser's path, or None. A path in $EMBEDLAB_CHROME is used as given (None if it is missing)."""
    named = os.environ.get("EMBEDLAB_CHROME")
    if named:
        return named if Path(named).is_file() else None
    for name in NAMES:
        if found := shutil.which(name):
            return found
    home_places = [str(Path.home() / p.lstrip("/")) for p in INSTALL_PLACES if p.startswith("/Applications")]
    return next((p for p in (*INSTALL_PLACES, *home_places) if Path(p).is_file()), None)


if __name__ == "__main__":
    browser = find_browser()
    if browser is None:
        sys.exit(1)
    print(browser)
