"""`fangfan up`: the whole system on one machine — a NATS server from the wheel (unless
FANGFAN_NATS_URL is set), the five services and the gateway on loopback, each a child process
that dies with its parent; stopped in order (gateway, services, NATS) on Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from shared.nats import NatsServer, free_port
from shared.process import die_with_parent
from shared.settings import SERVICE_PORTS, SERVICES, Settings, ensure_dev_secrets


class Launcher:
    def __init__(
        self, settings: Settings, *, gateway_port: int | None = None, service_ports: dict[str, int] | None = None
    ) -> None:
        self.settings = settings
        self.data_dir = settings.data_dir
        self.gateway_port = gateway_port or settings.gateway_port
        self.ports = service_ports or {
            s: int(os.environ.get(f"FANGFAN_{s.upper()}_PORT", SERVICE_PORTS[s])) for s in SERVICES
        }
        self.nats: NatsServer | None = None
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.env: dict[str, str] = {}

    def _child_env(self, nats_url: str) -> dict[str, str]:
        secrets = ensure_dev_secrets(self.data_dir) if self.settings.env != "production" else {}
        env = dict(os.environ)
        env.update(
            FANGFAN_DATA_DIR=str(self.data_dir),
            FANGFAN_NATS_URL=nats_url,
            FANGFAN_WEBHOOK_ALLOWLIST=os.environ.get("FANGFAN_WEBHOOK_ALLOWLIST", "127.0.0.1/32,::1/128"),
        )
        for name in ("jwt_secret", "internal_secret", "pii_key", "pii_index_key"):
            key = f"FANGFAN_{name.upper()}"
            if not env.get(key) and name in secrets:
                env[key] = secrets[name]
        for s in SERVICES:
            env.setdefault(f"FANGFAN_{s.upper()}_URL", f"http://127.0.0.1:{self.ports[s]}")
        return env

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "logs").mkdir(exist_ok=True)
        if self.settings.nats_url:
            nats_url = self.settings.nats_url
        else:
            self.nats = NatsServer(
                self.data_dir / "jetstream", free_port(), log_file=self.data_dir / "logs" / "nats.log"
            )
            self.nats.start()
            nats_url = self.nats.url
            (self.data_dir / "nats.url").write_text(nats_url)
        self.env = self._child_env(nats_url)
        for s in SERVICES:
            self._spawn(s, f"services.{s}.main:create_app", self.ports[s])
        self._spawn("gateway", "gateway.main:create_app", self.gateway_port)

    def _spawn(self, name: str, factory: str, port: int) -> None:
        log = open(self.data_dir / "logs" / f"{name}.log", "ab")  # noqa: SIM115
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            factory,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--timeout-graceful-shutdown",
            "10",
        ]
        proc = subprocess.Popen(
            cmd, env=self.env, stdout=log, stderr=log, start_new_session=True, preexec_fn=die_with_parent
        )
        self.children.append((name, proc))

    def wait_ready(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.gateway_port}/readyz"
        while time.monotonic() < deadline:
            for name, proc in self.children:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.data_dir}/logs/{name}.log")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        """Gateway first (no new requests), then services (their relays drain the outbox), NATS last."""
        for name, proc in reversed(self.children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                if name == "gateway":
                    _wait(proc, 15)
        for _, proc in self.children:
            _wait(proc, 20)
        self.children.clear()
        if self.nats:
            self.nats.stop()
            self.nats = None


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> None:
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_up(settings: Settings, *, gateway_port: int | None = None) -> int:
    launcher = Launcher(settings, gateway_port=gateway_port)
    stopping = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    t0 = time.monotonic()
    try:
        launcher.start()
        if not launcher.wait_ready():
            print(f"fangfan: not ready after 60 s; logs in {settings.data_dir / 'logs'}", file=sys.stderr)
            return 1
        took = time.monotonic() - t0
        base = f"http://127.0.0.1:{launcher.gateway_port}"
        print(
            f"fangfan is up in {took:.1f} s\n"
            f"  console   {base}/console   (officers; development sign-in)\n"
            f"  API       {base}/api/v1\n"
            f"  docs      {base}/docs   (OpenAPI: {base}/openapi.json)\n"
            f"  health    {base}/healthz  {base}/readyz\n"
            f"  NATS      {launcher.env['FANGFAN_NATS_URL']}\n"
            f"  data      {settings.data_dir}   (logs in {settings.data_dir / 'logs'})\n"
            f"  a token:  fangfan token --role county --region 341221\n"
            f'  then:     curl -H "Authorization: Bearer $(fangfan token --role county --region 341221)" '
            f"{base}/api/v1/...\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        while True:
            for name, proc in launcher.children:
                if proc.poll() is not None:
                    print(f"fangfan: {name} exited with {proc.returncode}; stopping", file=sys.stderr)
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("fangfan: stopping…", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        launcher.stop()
        print("fangfan: stopped", flush=True)


__all__ = ["Launcher", "Path", "run_up"]
