"""Debian's Chromium, headless, driven over the DevTools protocol (websocket-client): pages opened as a
person would, what the page requested from the network, and what its DOM holds once its scripts ran.

Every host name but 127.0.0.1 resolves to nothing (`--host-resolver-rules`), so a page that needs the
Internet shows it; the requests the page itself sent (Network.requestWillBeSent of its own target) are
kept, so that a test can say which left the machine. Chromium's own background traffic is switched off
and is not the page's anyway.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # the tests may run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--no-first-run",
    "--no-default-browser-check",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1400,1000",
)


def chromium_binary() -> str:
    """Debian's chromium (`make test-tools` installs it); the test is skipped, saying so, without it."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("chromium absent : `make test-tools` l'installe (paquet Debian chromium)")
    return binary


class Page:
    def __init__(self, browser: Chromium, target: dict) -> None:
        import websocket

        self.browser = browser
        self.target = target
        self.socket = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.requests: list[str] = []  # every URL this page asked for
        self._next_id = 0
        self._events: list[dict] = []
        self.call("Network.enable")
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method: str, **params: Any) -> dict:
        self._next_id += 1
        message_id = self._next_id
        self.socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method} : {message['error']}")
                return message.get("result", {})
            self._record(message)

    def _record(self, message: dict) -> None:
        if message.get("method") == "Network.requestWillBeSent":
            self.requests.append(message["params"]["request"]["url"])
        self._events.append(message)

    def open(self, url: str, settle_s: float = 1.0, timeout_s: float = 30) -> None:
        """Navigate and wait for the load event, then `settle_s` without new requests (scripts that fetch)."""
        self._events.clear()
        self.call("Page.navigate", url=url)
        self._wait_loaded(url, settle_s, timeout_s)

    def click(self, selector: str, settle_s: float = 1.0, timeout_s: float = 30) -> str:
        """Click the element as a person would (a mouse press and release at its centre) and wait for the page
        it leads to; return that page's URL."""
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect(); "
            "return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        self._events.clear()
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)
        self._wait_loaded(selector, settle_s, timeout_s)
        return self.evaluate("location.href")

    def _wait_loaded(self, what: str, settle_s: float, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        loaded = False
        quiet_since = time.monotonic()
        self.socket.settimeout(0.2)
        try:
            while time.monotonic() < deadline:
                try:
                    message = json.loads(self.socket.recv())
                except Exception:  # a receive timeout: nothing new
                    if loaded and time.monotonic() - quiet_since >= settle_s:
                        return
                    continue
                self._record(message)
                if message.get("method") == "Page.loadEventFired":
                    loaded = True
                if message.get("method", "").startswith("Network."):
                    quiet_since = time.monotonic()
            raise TimeoutError(f"{what} : pas de page chargée en {timeout_s} s")
        finally:
            self.socket.settimeout(30)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression} : {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        import base64

        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return path

    def close(self) -> None:
        self.socket.close()


class Chromium:
    """`with Chromium(folder) as browser: page = browser.new_page(); page.open(url)`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.pages: list[Page] = []

    def __enter__(self) -> Chromium:
        profile = self.folder / "chromium-profile"
        profile.mkdir(parents=True, exist_ok=True)
        self.log = (self.folder / "chromium.log").open("w")
        self.process = subprocess.Popen(
            [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"chromium n'a pas ouvert son port DevTools (journal : {self.log.name})")
            time.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])
        return self

    def new_page(self) -> Page:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as response:
            page = Page(self, json.loads(response.read()))
        self.pages.append(page)  # its DevTools socket is closed with the browser
        return page

    def __exit__(self, *exc: object) -> None:
        for page in self.pages:
            page.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def left_the_machine(urls: list[str]) -> list[str]:
    """The URLs that were not for this machine (file:, data:, about:, 127.0.0.1 and localhost are)."""
    local = ("file:", "data:", "about:", "blob:", "http://127.0.0.1", "https://127.0.0.1", "http://localhost")
    return [url for url in urls if not url.startswith(local)]
