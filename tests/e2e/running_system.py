"""The whole system as a user runs it — `fangfan up` in a subprocess (NATS from the wheel, the four
services and the gateway, each its own process) — on free loopback ports and a throw-away data
dir, optionally with some services on throw-away PostgreSQL databases; for tests that need real
processes (the gateway's RSS from /proc, a scan of everything the system wrote)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

from shared.auth import make_token
from shared.nats import free_port
from shared.settings import SERVICES, Settings
from tests.conftest import PG_ADMIN_DSN, create_pg_database, drop_pg_database
from tests.helpers import TEST_SECRETS

__all__ = ["UpSystem", "memory_kib", "pg_reachable"]


def pg_reachable() -> bool:
    async def probe() -> bool:
        import asyncpg

        try:
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=2)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


class UpSystem:
    def __init__(self, root: Path, *, env: dict[str, str] | None = None, pg_services: tuple[str, ...] = ()) -> None:
        self.root = root
        self.data_dir = root / "var"
        self.extra_env = env or {}
        self.pg_services = pg_services
        self.pg_databases: dict[str, str] = {}  # service → database name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output = root / "fangfan-up.out"  # the launcher's own stdout/stderr
        self.proc: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None
        self.settings = Settings(data_dir=self.data_dir, env="test", **TEST_SECRETS)

    def start(self, timeout: float = 60.0) -> float:
        """Start and wait for /readyz; returns the seconds it took."""
        env = dict(os.environ, FANGFAN_DATA_DIR=str(self.data_dir))
        for name in ("FANGFAN_NATS_URL", "FANGFAN_DATABASE_URL"):
            env.pop(name, None)
        for s in (*SERVICES, "gateway"):
            env.pop(f"FANGFAN_{s.upper()}_URL", None)
            env.pop(f"FANGFAN_{s.upper()}_DATABASE_URL", None)
        for s in SERVICES:
            env[f"FANGFAN_{s.upper()}_PORT"] = str(free_port())
        for name, value in TEST_SECRETS.items():
            env[f"FANGFAN_{name.upper()}"] = value
        for s in self.pg_services:
            db, url = asyncio.run(create_pg_database("fangfan_ws"))
            self.pg_databases[s] = db
            env[f"FANGFAN_{s.upper()}_DATABASE_URL"] = url
        env.update(self.extra_env)
        self.root.mkdir(parents=True, exist_ok=True)
        self._out = self.output.open("wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shared.cli.main", "up", "--port", str(self.port)],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fangfan up exited: {self.output.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                    if r.status == 200 and set(json.loads(r.read())["checks"].values()) == {"ok"}:
                        return time.monotonic() - t0
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"fangfan up not ready in {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._out is not None:
            self._out.close()
            self._out = None

    def drop_databases(self) -> None:
        for db in self.pg_databases.values():
            asyncio.run(drop_pg_database(db))
        self.pg_databases.clear()

    def headers(self, role: str, region: str, *, sub: str | None = None, dept: str | None = None) -> dict[str, str]:
        token = make_token(
            sub=sub or f"ws-{role}-{region}", role=role, region=region, dept=dept, settings=self.settings
        )
        return {"Authorization": f"Bearer {token}"}

    def pid_of(self, marker: str) -> int:
        """The child process whose command line contains `marker` (e.g. `gateway.main`)."""
        assert self.proc is not None
        stack, seen = [self.proc.pid], set()
        while stack:
            p = stack.pop()
            try:
                if marker.encode() in Path(f"/proc/{p}/cmdline").read_bytes():
                    return p
                kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
            except OSError:
                continue
            stack += [int(k) for k in kids if int(k) not in seen]
            seen.update(int(k) for k in kids)
        raise LookupError(marker)

    def logs(self) -> list[Path]:
        """Everything the processes wrote: their captured stdout/stderr and the launcher's."""
        return [self.data_dir / "logs", self.output]


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in KiB, from /proc."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out
