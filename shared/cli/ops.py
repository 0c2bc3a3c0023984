"""`fangfan migrate` and `fangfan serve`: what a container or a process manager runs."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import uvicorn

from shared.db import make_engine
from shared.migrations import upgrade
from shared.settings import SERVICE_PORTS, SERVICES, Settings


def _migrations_dir(service: str) -> Path:
    module = "gateway" if service == "gateway" else f"services.{service}"
    pkg = importlib.import_module(module)
    return Path(pkg.__file__ or "").parent / "migrations"


def run_migrate(settings: Settings, service: str) -> int:
    targets = [*SERVICES, "gateway"] if service == "all" else [service]

    async def go() -> None:
        for name in targets:
            path = _migrations_dir(name)
            if not (path / "env.py").exists():
                print(f"{name}: no migrations")
                continue
            engine = make_engine(settings.database_url_for(name))
            try:
                await upgrade(engine, name, path)
            finally:
                await engine.dispose()
            print(f"{name}: migrated")

    asyncio.run(go())
    return 0


def run_serve(settings: Settings, service: str, *, host: str, port: int | None, workers: int) -> int:
    factory = "gateway.main:create_app" if service == "gateway" else f"services.{service}.main:create_app"
    port = port or (settings.gateway_port if service == "gateway" else SERVICE_PORTS[service])
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=20,
    )
    return 0
