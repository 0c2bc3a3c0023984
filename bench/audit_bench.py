"""The audit chain (shared/audit.py) against a real database: appends, one per transaction, from
several concurrent writers (what case transitions do), then a full `verify_chain` walk, and a
`GET /audit`-style look-up by subject.

    .venv/bin/python bench/audit_bench.py --db sqlite   --entries 5000 --writers 4
    .venv/bin/python bench/audit_bench.py --db postgres --entries 5000 --writers 4
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.audit import audit_chain_table, audit_entries, record_audit, verify_chain
from shared.db import UnitOfWork, infra_tables, make_engine
from tests.conftest import create_pg_database, drop_pg_database

metadata = sa.MetaData()
infra = infra_tables(metadata)
chain = audit_chain_table(metadata, "audit_chain")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--entries", type=int, default=5000)
    ap.add_argument("--writers", type=int, default=4)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fangfan-bench-"))
    pg_name = None
    if args.db == "postgres":
        pg_name, url = await create_pg_database("fangfan_bench")
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        per_writer = args.entries // args.writers

        async def writer(w: int) -> None:
            for i in range(per_writer):
                async with UnitOfWork(sessions, infra["outbox"]) as uow:
                    await record_audit(
                        uow.session,
                        chain,
                        kind="case_transition",
                        subject_type="case",
                        subject_id=f"case-{w}-{i % 50}",
                        household_id=f"hh-{w}-{i % 50}",
                        region_code="341221001201",
                        actor=f"officer-{w}",
                        role="village",
                        detail={"action": "advance", "from": "submitted", "to": "verification", "note": "属实" * 10},
                    )
                    await uow.commit()

        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(writer(w) for w in range(args.writers)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = per_writer * args.writers
        async with AsyncSession(engine) as session:
            t1 = time.perf_counter()
            status = await verify_chain(session, chain)
            verify_s = time.perf_counter() - t1
            t2 = time.perf_counter()
            found = await audit_entries(session, chain, subject="hh-1-7", region="341221")
            lookup_ms = (time.perf_counter() - t2) * 1000
        if not (status.verified and status.rows == n):
            raise SystemExit(f"chain broken or short: {status}")
        print(
            f"{args.db}: {n} appends by {args.writers} writers (one transaction each): "
            f"{n / wall:,.0f}/s, {cpu / n * 1e6:,.0f} µs CPU each; "
            f"verify_chain of {status.rows} rows {verify_s * 1000:,.0f} ms ({status.rows / verify_s:,.0f} rows/s); "
            f"look-up by household ({len(found)} entries) {lookup_ms:.1f} ms"
        )
    finally:
        await engine.dispose()
        if pg_name:
            await drop_pg_database(pg_name)


if __name__ == "__main__":
    asyncio.run(main())
