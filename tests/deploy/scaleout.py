"""A province in miniature on one machine, for the scale-out proof: a 3-node JetStream cluster
(R3 stream), one PostgreSQL database per service, two replicas of every service as separate
`fangfan serve` processes, and the gateway in front of them (round-robin, fail-over)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from shared.nats import NatsCluster, free_port
from shared.process import die_with_parent
from shared.settings import SERVICES
from tests.conftest import create_pg_database, drop_pg_database
from tests.helpers import TEST_SECRETS

ROOT = Path(__file__).resolve().parents[2]


class ScaleOut:
    def __init__(self, base: Path, replicas: int = 2) -> None:
        self.base = base
        self.replicas = replicas
        self.cluster = NatsCluster(base / "nats")
        self.db_names: list[str] = []
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}
        self.gateway_port = free_port()
        self.env: dict[str, str] = {}

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def database_url(self, service: str) -> str:
        return self.env[f"FANGFAN_{service.upper()}_DATABASE_URL"]

    async def start(self) -> None:
        self.cluster.start()
        for service in (*SERVICES, "gateway"):
            name, url = await create_pg_database(f"fangfan_so_{service}")
            self.db_names.append(name)
            self.env[f"FANGFAN_{service.upper()}_DATABASE_URL"] = url
        env = dict(os.environ)
        env.update({f"FANGFAN_{k.upper()}": v for k, v in TEST_SECRETS.items()})
        env.update(
            self.env,
            FANGFAN_ENV="test",
            FANGFAN_DATA_DIR=str(self.base / "data"),
            FANGFAN_NATS_URL=self.cluster.url,
            FANGFAN_STREAM_REPLICAS="3",
            FANGFAN_MIGRATE_ON_START="false",
            FANGFAN_LOG_LEVEL="WARNING",
            FANGFAN_WEBHOOK_ALLOWLIST="127.0.0.1/32,::1/128",
            FANGFAN_RATE_IP="off",
            FANGFAN_RATE_PRINCIPAL="off",
            FANGFAN_RATE_SELF_APPLICATION="off",
            # Fail-over waits shortened for the test (production: 60 s each).
            FANGFAN_CONSUMER_ACK_WAIT_S="10",
            FANGFAN_CHUNK_LEASE_S="10",
            # Small chunks, one at a time per replica: the screening must still be running when
            # the test kills a replica mid-way (4 loops each finished 16 chunks between two polls).
            FANGFAN_SCREENING_CHUNK="1000",
            FANGFAN_CHUNK_CONCURRENCY="1",
            FANGFAN_CHUNK_POLL_S="0.5",
            FANGFAN_IDEMPOTENCY_STALE_AFTER_S="5",
            PYTHONPATH=str(ROOT),
        )
        self.env = env
        subprocess.run([sys.executable, "-m", "shared.cli.main", "migrate"], env=env, check=True, capture_output=True)
        for service in SERVICES:
            urls = []
            for r in range(self.replicas):
                port = free_port()
                self.ports[f"{service}-{r}"] = port
                urls.append(f"http://127.0.0.1:{port}")
                self._spawn(f"{service}-{r}", service, port)
            env[f"FANGFAN_{service.upper()}_URL"] = ",".join(urls)
        self._spawn("gateway", "gateway", self.gateway_port)
        self.wait_ready()

    def _spawn(self, name: str, service: str, port: int) -> None:
        log = open(self.base / f"{name}.log", "ab")  # noqa: SIM115
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "shared.cli.main", "serve", service, "--port", str(port)],
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        pending = dict(self.ports, gateway=self.gateway_port)
        while pending and time.monotonic() < deadline:
            for name, port in list(pending.items()):
                proc = self.procs[name]
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited: {(self.base / f'{name}.log').read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                        if r.status == 200:
                            pending.pop(name)
                except OSError:
                    pass
            time.sleep(0.2)
        if pending:
            raise RuntimeError(f"not ready: {sorted(pending)}")

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown hook runs, in-flight work is simply gone."""
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    async def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.cluster.stop()
        for name in self.db_names:
            await drop_pg_database(name)
