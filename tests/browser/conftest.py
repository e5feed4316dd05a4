"""The built book checked in headless Chromium: `make book-check` (after `make book`) runs these tests.

They need the built book and Debian's chromium, so the default test run (`make unit`, plain `pytest`) does not
collect them: `make book-check` sets LABKIT_BOOK_HTML to the built book's folder (book/_build/html) and names this
folder. LABKIT_SCREENSHOTS is where the screenshots go (default build/screenshots).
"""

import os

if not os.environ.get("LABKIT_BOOK_HTML"):
    collect_ignore_glob = ["*.py"]
