"""The whole system for the console's browser tests: `fangfan demo`'s in-process system (NATS from
the wheel, every service and the gateway on loopback, SQLite, a demo clock) running in a thread of
its own, and Debian's Chromium driven by Playwright (skipped, with the reason, where either is
missing)."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.cli.demo import DemoSystem, demo_system

CHROMIUM = os.environ.get("FANGFAN_CHROMIUM", "/usr/bin/chromium")
#: set to a folder (docs/console) to save screenshots of the main pages there
SCREENSHOTS = os.environ.get("FANGFAN_CONSOLE_SCREENSHOTS")


class RunningSystem:
    """The demo system on its own event loop; `api()` is a client of its gateway."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.system: DemoSystem | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="console-system", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with demo_system(self.root) as system:
                self.system = system
                self._ready.set()
                await self._stop.wait()

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the test thread
            self._error = exc
            self._ready.set()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(120)
        if self._error is not None or self.system is None:
            raise RuntimeError(f"the system did not start: {self._error!r}")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)

    @property
    def url(self) -> str:
        assert self.system is not None
        return self.system.gateway_url

    def headers(self, role: str, region: str, **kw: Any) -> dict[str, str]:
        assert self.system is not None
        return self.system.token(role, region, **kw)

    def api(self, role: str, region: str, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url + "/api/v1", headers=self.headers(role, region, **kw), timeout=60)

    def run(self, coro: Any, timeout: float = 300) -> Any:
        """Run a coroutine on the system's own event loop (e.g. the demo's walk)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def advance_clock(self, days: int) -> None:
        assert self.system is not None
        self.system.clock.advance(days)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    system = RunningSystem(tmp_path_factory.mktemp("console"))
    system.start()
    try:
        yield system
    finally:
        system.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium; .ci/run installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (it is in the dev extra)")
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()


def screenshot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)
