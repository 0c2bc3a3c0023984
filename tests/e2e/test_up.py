"""`fangfan up` as a user runs it: ready within 30 s, and SIGTERM leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from shared.nats import free_port
from shared.settings import SERVICES

pytestmark = pytest.mark.sqlite_only  # the launcher's own behaviour; databases are tested elsewhere


def _descendants(pid: int) -> set[int]:
    out: set[int] = set()
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        for k in map(int, kids):
            if k not in out:
                out.add(k)
                stack.append(k)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_up_becomes_ready_and_sigterm_leaves_no_child(tmp_path: Path) -> None:
    gw = free_port()
    env = dict(os.environ, FANGFAN_DATA_DIR=str(tmp_path / "var"))
    env.pop("FANGFAN_NATS_URL", None)
    env.pop("FANGFAN_DATABASE_URL", None)
    for s in SERVICES:
        env[f"FANGFAN_{s.upper()}_PORT"] = str(free_port())
        env.pop(f"FANGFAN_{s.upper()}_URL", None)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "shared.cli.main", "up", "--port", str(gw)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        ready_body = None
        while time.monotonic() - t0 < 30:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{gw}/readyz", timeout=2) as r:
                    if r.status == 200:
                        ready_body = json.loads(r.read())
                        break
            except OSError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            time.sleep(0.2)
        took = time.monotonic() - t0
        assert ready_body is not None, f"not ready in 30 s ({took:.1f} s)"
        assert ready_body["checks"] == {**dict.fromkeys(SERVICES, "ok"), "openapi": "ok"}
        children = _descendants(proc.pid)
        assert len(children) >= 7  # nats-server, five services, gateway
        print(f"fangfan up ready in {took:.2f} s")
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, out
    assert "stopped" in out
    time.sleep(0.2)
    leftover = [p for p in children if _alive(p)]
    assert leftover == [], f"processes left behind: {leftover}"
