"""The system under test for the fault scenarios: services as `fangfan serve` processes (one
PostgreSQL database each) and one JetStream server on loopback, with the faults Jepsen's
nemesis would inject — SIGKILL, SIGSTOP/SIGCONT, an outage — sent to real processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

from shared.auth import make_token
from shared.nats import NatsServer, free_port
from shared.process import die_with_parent
from shared.settings import Settings
from tests.conftest import TEST_DB, create_pg_database, drop_pg_database
from tests.helpers import TEST_SECRETS

ROOT = Path(__file__).resolve().parents[2]

#: The scenarios need PostgreSQL (several processes on one database, `FOR UPDATE SKIP LOCKED`),
#: and each must run once in CI: in the PostgreSQL pass (FANGFAN_TEST_DB=postgres).
ON_POSTGRES_ONLY = {
    "condition": TEST_DB != "postgres",
    "reason": "fault scenarios run once, in the PostgreSQL pass (FANGFAN_TEST_DB=postgres)",
}


def bearer(role: str, region: str, sub: str | None = None) -> dict[str, str]:
    settings = Settings(**TEST_SECRETS)  # type: ignore[arg-type]
    jwt = make_token(sub=sub or f"rel-{role}-{region}", role=role, region=region, settings=settings)
    return {"Authorization": f"Bearer {jwt}"}


class WebhookReceiver:
    """A department's endpoint on loopback: records every `webhook-id` it is sent (repeats too)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def __aenter__(self) -> WebhookReceiver:
        async def hook(request: web.Request) -> web.Response:
            await request.read()
            self.seen.append(request.headers["webhook-id"])
            return web.Response(status=204)

        app = web.Application()
        app.router.add_post("/hook", hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


def pg_dsn(url: str) -> str:
    """asyncpg's DSN for a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def query(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(pg_dsn(url))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def scalar(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(pg_dsn(url))
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def until(predicate: Any, timeout: float, interval: float = 0.25) -> bool:
    """Poll an async predicate until it holds or `timeout` runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if await predicate():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(interval)


class System:
    """`services` as separate processes; `env` adds settings (e.g. shorter waits for the test)."""

    def __init__(self, base: Path, services: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.base = base
        self.services = list(services)
        self.nats = NatsServer(base / "jetstream", log_file=base / "nats.log")
        self.db_names: list[str] = []
        self.urls: dict[str, str] = {}
        self.ports: dict[str, int] = {}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.extra_env = env or {}
        self.env: dict[str, str] = {}

    def url(self, service: str) -> str:
        """The service's HTTP base URL."""
        return f"http://127.0.0.1:{self.ports[service]}"

    async def start(self) -> System:
        self.nats.start()
        for service in self.services:
            name, url = await create_pg_database(f"fangfan_rel_{service[:5]}")
            self.db_names.append(name)
            self.urls[service] = url
        env = dict(os.environ)
        env.update({f"FANGFAN_{k.upper()}": v for k, v in TEST_SECRETS.items()})
        env.update({f"FANGFAN_{s.upper()}_DATABASE_URL": u for s, u in self.urls.items()})
        env.update(
            FANGFAN_ENV="test",
            FANGFAN_DATA_DIR=str(self.base / "data"),
            FANGFAN_NATS_URL=self.nats.url,
            FANGFAN_LOG_LEVEL="WARNING",
            FANGFAN_WEBHOOK_ALLOWLIST="127.0.0.1/32,::1/128",
            PYTHONPATH=str(ROOT),
        )
        env.update(self.extra_env)
        self.env = env
        for service in self.services:
            self.ports[service] = free_port()
            self.spawn(service)
        await self.wait_ready(self.services)
        return self

    def spawn(self, service: str) -> None:
        log = open(self.base / f"{service}.log", "ab")  # noqa: SIM115
        self.procs[service] = subprocess.Popen(
            [sys.executable, "-m", "shared.cli.main", "serve", service, "--port", str(self.ports[service])],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    async def wait_ready(self, services: Sequence[str], timeout: float = 90) -> None:
        """Until every service answers /readyz with 200 (database and NATS up)."""
        deadline = time.monotonic() + timeout
        pending = set(services)
        while pending:
            for service in sorted(pending):
                proc = self.procs[service]
                if proc.poll() is not None:
                    raise RuntimeError(f"{service} exited: {self.log_tail(service)}")
                if await asyncio.to_thread(self.is_ready, service):
                    pending.discard(service)
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready: {sorted(pending)}")
            await asyncio.sleep(0.2)

    def is_ready(self, service: str) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url(service)}/readyz", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def log_tail(self, service: str, n: int = 3000) -> str:
        return (self.base / f"{service}.log").read_text(errors="replace")[-n:]

    def pid(self, service: str) -> int:
        return self.procs[service].pid

    def kill(self, service: str) -> None:
        """SIGKILL: no shutdown hook runs; whatever was in flight is simply gone."""
        proc = self.procs[service]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL

    # --- the NATS nemesis ---------------------------------------------------------------------

    def nats_kill(self) -> None:
        self.nats.kill()

    def nats_restart(self) -> None:
        """Start it again on the same port and store (JetStream recovers the stream from disk)."""
        self.nats.start()

    def nats_pause(self) -> None:
        self.nats.pause()

    def nats_resume(self) -> None:
        self.nats.resume()

    async def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                await asyncio.to_thread(proc.wait, 20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.nats.proc is not None:
            self.nats.resume()  # a stopped process does not act on SIGTERM
        self.nats.stop()
        for name in self.db_names:
            await drop_pg_database(name)


class Zygote:
    """The test side of `forker.py`: start a child with a command, wait for it to be gone."""

    def __init__(self, base: Path) -> None:
        self.log = open(base / "forker.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.forker"],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            preexec_fn=die_with_parent,
        )
        self.started = 0

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line:
            raise RuntimeError(f"forker exited with {self.proc.poll()}")
        return line

    async def ready(self) -> None:
        assert await asyncio.to_thread(self._line) == "ready"

    async def start(self, **cmd: Any) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        self.proc.stdin.flush()
        line = await asyncio.to_thread(self._line)
        assert line.startswith("pid "), line
        self.started += 1
        return int(line.split()[1])

    async def gone(self, pid: int, timeout: float) -> str:
        """How child `pid` ended (`signal 9`, `code 0`, ...)."""
        line = await asyncio.wait_for(asyncio.to_thread(self._line), timeout)
        assert line.startswith(f"exit {pid} "), line
        return line.split(" ", 2)[2]

    async def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.to_thread(self.proc.wait, 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
