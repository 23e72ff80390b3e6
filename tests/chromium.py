"""A headless Chromium driven over the DevTools protocol (aiohttp's websocket client, no other library),
for tests/test_pages_browser.py: open a page at a window width, collect what the browser reports as an
error (console, uncaught exceptions, blocked loads, CSP refusals), evaluate script, take a screenshot.

    async with Chromium.launch(tmp_path) as browser:
        tab = await browser.open("http://127.0.0.1:8080/", width=390)
        assert not tab.errors
        await tab.evaluate("document.title")
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-port=0")
START_TIMEOUT = 30.0
CALL_TIMEOUT = 30.0


def chromium_binary() -> str | None:
    return next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)


class DevToolsError(Exception):
    """The browser answered a command with an error."""


@dataclass
class Tab:
    """One page target, attached over the browser's socket; `errors` fills as the browser reports them."""

    browser: Chromium
    session: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    loaded: asyncio.Event = field(default_factory=asyncio.Event)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        return await self.browser.call(method, session=self.session, **params)

    async def navigate(self, url: str) -> None:
        self.loaded.clear()
        result = await self.call("Page.navigate", url=url)
        if result.get("errorText"):
            raise DevToolsError(f"{url}: {result['errorText']}")
        await asyncio.wait_for(self.loaded.wait(), CALL_TIMEOUT)

    async def evaluate(self, expression: str) -> Any:
        """The value of a script expression in the page (promises awaited)."""
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise DevToolsError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def screenshot(self, path: Path) -> bytes:
        """The whole page (not only the window; its scroll bar included) as a PNG, written to `path`."""
        size = (await self.call("Page.getLayoutMetrics"))["cssContentSize"]
        width = max(size["width"], await self.evaluate("window.innerWidth"))
        clip = {"x": 0, "y": 0, "width": width, "height": min(size["height"], 8000), "scale": 1}
        shot = await self.call("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)
        data = base64.b64decode(shot["data"])
        path.write_bytes(data)
        return data

    def event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Page.loadEventFired":
            self.loaded.set()
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(f"uncaught: {details.get('exception', {}).get('description') or details['text']}")
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            if params["type"] in ("error", "assert"):
                self.errors.append(f"console.{params['type']}: {text}")
            elif params["type"] == "warning":
                self.warnings.append(f"console.warn: {text}")
        elif method == "Log.entryAdded":
            entry = params["entry"]
            line = f"{entry['source']}: {entry['text']} {entry.get('url', '')}".strip()
            (self.errors if entry["level"] == "error" else self.warnings).append(line)


class Chromium:
    """A running headless browser and its DevTools socket."""

    def __init__(self, process: subprocess.Popen[bytes], ws: aiohttp.ClientWebSocketResponse,
                 http: aiohttp.ClientSession):
        self.process = process
        self.ws = ws
        self.http = http
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._tabs: dict[str, Tab] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(cls, workdir: Path) -> AsyncIterator[Chromium]:
        binary = chromium_binary()
        if binary is None:
            raise RuntimeError("no chromium binary on PATH")
        profile = workdir / "chromium-profile"
        profile.mkdir(parents=True, exist_ok=True)
        port_file = profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)  # a reused profile's file names a browser that is gone
        log = (workdir / "chromium.log").open("wb")
        process = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + START_TIMEOUT
            while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
                if process.poll() is not None or loop.time() > deadline:
                    raise RuntimeError(f"chromium did not start; see {workdir / 'chromium.log'}")
                await asyncio.sleep(0.05)
            port, path = port_file.read_text().splitlines()[:2]
            async with aiohttp.ClientSession() as http:
                ws = await http.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0)
                browser = cls(process, ws, http)
                try:
                    yield browser
                finally:
                    await browser.close()
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, 9)
                    process.wait()
            log.close()

    async def call(self, method: str, *, session: str | None = None, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        await self.ws.send_str(json.dumps(message))
        return await asyncio.wait_for(future, CALL_TIMEOUT)

    async def open(self, url: str, *, width: int, height: int = 900, dark: bool = False,
                   javascript: bool = True) -> Tab:
        """A new tab `width` CSS pixels wide (a phone's viewport below 600), loaded with `url`."""
        target = (await self.call("Target.createTarget", url="about:blank"))["targetId"]
        session = (await self.call("Target.attachToTarget", targetId=target, flatten=True))["sessionId"]
        tab = Tab(self, session)
        self._tabs[session] = tab
        for domain in ("Page", "Runtime", "Log"):
            await tab.call(f"{domain}.enable")
        await tab.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                       mobile=width < 600)
        await tab.call("Emulation.setEmulatedMedia", features=[
            {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}])
        if not javascript:
            await tab.call("Emulation.setScriptExecutionDisabled", value=True)
        await tab.navigate(url)
        return tab

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            if "id" in data:
                future = self._waiting.pop(data["id"], None)
                if future is not None and not future.done():
                    if "error" in data:
                        future.set_exception(DevToolsError(str(data["error"])))
                    else:
                        future.set_result(data.get("result", {}))
            elif (tab := self._tabs.get(data.get("sessionId", ""))) is not None:
                tab.event(data["method"], data.get("params", {}))
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(DevToolsError("the browser closed its DevTools socket"))

    async def close(self) -> None:
        with contextlib.suppress(DevToolsError, asyncio.TimeoutError, ConnectionError):
            await asyncio.wait_for(self.call("Browser.close"), 5)
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
