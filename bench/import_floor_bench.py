"""Bulk import against PostgreSQL's own COPY (issue #19), side by side in one run:

    .venv/bin/python bench/import_floor_bench.py --households 100000 --file /tmp/h100k.ndjson
    .venv/bin/python bench/import_floor_bench.py --households 1000000 --file /tmp/h1m.ndjson

1. *floor* — the same households, already prepared (encrypted, indexed, profiled: COPY text made
   before the clock starts), COPYed with asyncpg into a fresh, migrated database: the same tables
   and indexes, pieces of 2,000 households, one transaction each (as the import does). No
   parsing, validation, encryption, look-ups or job progress: what PostgreSQL alone needs.
2. *fast* — `POST /api/v1/households/import` of the NDJSON file (in-process ASGI, 64 KiB chunks,
   real NATS) into a fresh database, `FANGFAN_IMPORT_ENCODER=fast` (the default).
3. *reference* — the same with `FANGFAN_IMPORT_ENCODER=reference`.

Reported per phase: seconds, households/s, ratio to the floor, peak RSS of the service process
and of service + worker processes (sampled from /proc every 0.2 s), CPU seconds of the service,
of its workers and of the PostgreSQL backends of that database, and the load average (1 min)
before and after. `--phases` picks some (`floor,fast`). Each phase runs in a process of its own
(`--fresh`, the default: a new service, as a replica starts); `--no-fresh` runs all in this one.
The NDJSON file is made once if missing (`fangfan generate`'s `write_households`) and reused."""

# Nothing else at module level: the import's worker processes are spawned, and a spawned process
# imports the parent's __main__ (this file) before it runs its task. A script that imported the
# service here would add ≈ 80 MB to every worker (measured: 128 MB against 49 MB for the workers'
# own module) — a bench artefact the service does not have when run as `python -m uvicorn`.
if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.import_floor import main

    main()
