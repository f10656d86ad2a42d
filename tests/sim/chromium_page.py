"""Load a local HTML file in headless Chromium over the DevTools protocol (a pipe, no extra package).

:func:`load_page` returns what the browser saw: console messages and uncaught exceptions, every
request the page made (URL), a PNG screenshot and a few facts read from the DOM. Chromium is
Debian's ``chromium`` package; nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

INSTALL = "apt-get update && apt-get install -y chromium"

DOM_FACTS = """JSON.stringify({
  tables: document.querySelectorAll('table').length,
  rows: document.querySelectorAll('tbody tr').length,
  images: document.images.length,
  brokenImages: Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length,
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  height: document.documentElement.scrollHeight,
  sections: Array.from(document.querySelectorAll('section h2')).map(h => h.textContent),
  text: document.body.innerText.length,
  widestTable: Math.max(0, ...Array.from(document.querySelectorAll('.scroll')).map(s => s.getBoundingClientRect().right)),
})"""


def chromium_binary() -> str:
    """The chromium executable, or an AssertionError naming the install command."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, f"headless Chromium is needed for the browser test and was not found: install it with `{INSTALL}`"
    return exe


@dataclass
class PageLoad:
    """What Chromium saw while loading one page."""

    console: list[dict] = field(default_factory=list)  # {"level", "text"}
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    dom: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def errors(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions and failed loads."""
        return ([f"console.{m['level']}: {m['text']}" for m in self.console if m["level"] in ("error", "warning")]
                + [f"exception: {e}" for e in self.exceptions] + [f"failed: {u}" for u in self.failed])


class _Pipe:
    def __init__(self, proc, write_fd: int, read_fd: int):
        self.proc, self.write_fd, self.read_fd = proc, write_fd, read_fd
        self.buffer, self.next_id, self.events = b"", 0, []

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60.0):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.write_fd, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read(timeout)
            if reply.get("id") == self.next_id:
                assert "error" not in reply, f"DevTools {method}: {reply['error']}"
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 60.0) -> dict:
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(i)
        while True:
            ev = self._read(timeout)
            if ev.get("method") == method:
                return ev
            self.events.append(ev)

    def _read(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            assert left > 0, "Chromium did not answer in time"
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if ready:
                chunk = os.read(self.read_fd, 1 << 20)
                assert chunk, f"Chromium closed the DevTools pipe (exit code {self.proc.poll()})"
                self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)


def load_page(path, width: int = 1366, height: int = 900, full_page: bool = False) -> PageLoad:
    """Open ``path`` in headless Chromium at ``width`` × ``height``; collect what :class:`PageLoad` holds."""
    import base64

    exe = chromium_binary()
    start = time.perf_counter()
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    profile = tempfile.mkdtemp(prefix="banditsim-chromium-")
    args = [exe, "--headless=new", "--disable-gpu", "--no-sandbox", "--remote-debugging-pipe", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={profile}",
            f"--window-size={width},{height}", "about:blank"]
    cmd = " ".join(f"'{a}'" for a in args) + f" 3<&{to_child_r} 4>&{from_child_w}"
    proc = subprocess.Popen(["bash", "-c", f"exec {cmd}"], pass_fds=(to_child_r, from_child_w),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(to_child_r)
    os.close(from_child_w)
    out = PageLoad()
    try:
        cdp = _Pipe(proc, to_child_w, from_child_r)
        target = next(t for t in cdp.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        session = cdp.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            cdp.send(f"{domain}.enable", session=session)
        cdp.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                        "mobile": False}, session=session)
        cdp.send("Page.navigate", {"url": f"file://{os.path.abspath(path)}"}, session=session)
        cdp.wait_event("Page.loadEventFired")
        out.dom = json.loads(cdp.send("Runtime.evaluate", {"expression": DOM_FACTS, "returnByValue": True},
                                      session=session)["result"]["value"])
        shot = {"format": "png"}
        if full_page:
            shot.update(captureBeyondViewport=True,
                        clip={"x": 0, "y": 0, "width": width, "height": out.dom["height"], "scale": 1})
        out.screenshot = base64.b64decode(cdp.send("Page.captureScreenshot", shot, session=session)["data"])
        for ev in cdp.events:
            p = ev.get("params", {})
            method = ev.get("method")
            if method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                out.console.append({"level": "warning" if p["type"] == "warn" else p["type"], "text": text})
            elif method == "Log.entryAdded":
                out.console.append({"level": p["entry"]["level"], "text": p["entry"]["text"]})
            elif method == "Runtime.exceptionThrown":
                out.exceptions.append(p["exceptionDetails"].get("text", "?"))
            elif method == "Network.requestWillBeSent":
                out.requests.append(p["request"]["url"])
            elif method == "Network.loadingFailed":
                out.failed.append(p.get("errorText", "?"))
        try:
            cdp.send("Browser.close", timeout=10)
        except AssertionError:
            pass  # closing races with the pipe shutting down
    finally:
        os.close(to_child_w)
        os.close(from_child_r)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    out.seconds = time.perf_counter() - start
    return out
