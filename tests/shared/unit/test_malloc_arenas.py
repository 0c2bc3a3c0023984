"""`shared.process.limit_malloc_arenas`: a service caps glibc's malloc arenas at start unless the
operator chose with MALLOC_ARENA_MAX (measured in bench/README.md: ≈ 30 MB less resident after a
million-household import)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from shared.process import DEFAULT_ARENAS, limit_malloc_arenas

_GLIBC = platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not _GLIBC, reason="glibc only")
def test_the_cap_is_set_in_a_process_of_its_own() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    code = "from shared.process import limit_malloc_arenas; print(limit_malloc_arenas())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    assert DEFAULT_ARENAS == 2


def test_the_operators_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
