"""Headless Chromium driven through the Chrome DevTools Protocol (CDP) over a pipe, for the book's browser check.

Chromium started with ``--remote-debugging-pipe`` reads CDP commands on its file descriptor 3 and writes the replies
and events on 4, each a JSON message ended by a NUL byte: no WebSocket, no driver, no Python package, only Debian's
``chromium``. :class:`Chromium` opens one tab; :meth:`Chromium.open` loads a page and waits for its load event,
:meth:`Chromium.evaluate` runs JavaScript in it (awaiting a promise), :meth:`Chromium.screenshot` saves a PNG, and
:attr:`Chromium.requests` lists the page's network requests.

With ``offline=True`` no host name resolves but 127.0.0.1: a page that needs a CDN fails as it would offline.

Example
-------
>>> with Chromium() as browser:  # doctest: +SKIP
...     browser.open("http://127.0.0.1:8000/intro.html")
...     browser.evaluate("document.title")
'labkit: land-cover mapping ...'
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


class ChromiumError(RuntimeError):
    """Chromium is missing, stopped, timed out, or answered a command with an error."""


class Chromium:
    """One headless Chromium tab, driven over the DevTools pipe (see the module's docstring)."""

    def __init__(self, binary: str = "chromium", *, offline: bool = True, size: tuple[int, int] = (1280, 900),
                 timeout: float = 60.0) -> None:
        path = shutil.which(binary)
        if path is None:
            raise ChromiumError(f"{binary} is not installed: on Debian, `apt-get install chromium` (make book-check "
                                "does it when run as root).")
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="labkit-chromium-")
        command_read, command_write = os.pipe()
        reply_read, reply_write = os.pipe()
        # Above 9, so that the redirections to 3 and 4 cannot overwrite one of them (bash: dash takes fds 0-9 only).
        child_read = fcntl.fcntl(command_read, fcntl.F_DUPFD_CLOEXEC, 10)
        child_write = fcntl.fcntl(reply_write, fcntl.F_DUPFD_CLOEXEC, 10)
        for fd in (command_read, reply_write):
            os.close(fd)
        arguments = [path, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                     "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--mute-audio",
                     f"--user-data-dir={self._profile.name}", f"--window-size={size[0]},{size[1]}"]
        if offline:
            arguments.append("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
        self._process = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{child_read} 4>&{child_write}', "bash", *arguments, "about:blank"],
            pass_fds=(child_read, child_write), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(child_read)
        os.close(child_write)
        self._write, self._read = command_write, reply_read
        self._buffer = b""
        self._last_id = 0
        self._events: list[dict] = []
        self.requests: list[dict] = []
        """The current page's requests: ``{"url", "type", "frame"}`` (``frame`` is None for the page itself)."""
        self.exceptions: list[str] = []
        """The JavaScript exceptions that the current page did not catch."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable", session=True)
        self.send("Emulation.setDeviceMetricsOverride", {"width": size[0], "height": size[1],
                                                         "deviceScaleFactor": 1, "mobile": False}, session=True)

    # ---------------------------------------------------------------------------------------------- protocol

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChromiumError(f"Chromium did not answer within {self.timeout:.0f} s.")
            if select.select([self._read], [], [], left)[0]:
                chunk = os.read(self._read, 1 << 20)
                if not chunk:
                    raise ChromiumError(f"Chromium stopped (exit code {self._process.poll()}).")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message = json.loads(raw)
        if "method" in message:
            self._record(message)
        return message

    def _record(self, event: dict) -> None:
        params = event.get("params", {})
        if event["method"] == "Network.requestWillBeSent":
            frame = params.get("frameId")
            self.requests.append({"url": params["request"]["url"], "type": params.get("type"),
                                  "frame": None if frame == getattr(self, "_frame", frame) else frame})
        elif event["method"] == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.exceptions.append(details.get("exception", {}).get("description") or details.get("text", ""))
        else:
            self._events.append(event)

    def send(self, method: str, params: dict | None = None, *, session: bool = False) -> dict:
        """Send one CDP command (to the tab when ``session``, else to the browser) and return its result."""
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self._last_id:
                if "error" in reply:
                    raise ChromiumError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def _wait_for(self, method: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            for index, event in enumerate(self._events):
                if event["method"] == method:
                    return self._events.pop(index)
            self._message(deadline)

    # ------------------------------------------------------------------------------------------------- pages

    def open(self, url: str) -> None:
        """Load ``url`` in the tab and wait for its load event; the page's requests start a new list."""
        self._events.clear()
        self.requests, self.exceptions = [], []
        result = self.send("Page.navigate", {"url": url}, session=True)
        if result.get("errorText"):
            raise ChromiumError(f"{url} cannot be opened: {result['errorText']}.")
        self._frame = result["frameId"]
        self._wait_for("Page.loadEventFired")

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (a promise is awaited); a JS error raises."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, session=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise ChromiumError(details.get("exception", {}).get("description") or details.get("text"))
        return result["result"].get("value")

    def screenshot(self, path: str | os.PathLike) -> Path:
        """Save what the tab shows (the viewport) as a PNG."""
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        """Stop Chromium and remove its profile."""
        try:
            self.send("Browser.close")
        except (ChromiumError, OSError):
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for fd in (self._write, self._read):
            os.close(fd)
        self._profile.cleanup()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
