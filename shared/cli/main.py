"""The `fangfan` command: `up` (run everything), `token` (a development JWT), `generate`
(deterministic synthetic households), `demo` (a walk through the running system)."""

from __future__ import annotations

import argparse
import sys

from shared.auth import ROLES, make_token
from shared.settings import SERVICES, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fangfan", description="防返 return-to-poverty monitoring platform")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start NATS, the five services and the gateway on loopback")
    up.add_argument("--port", type=int, default=None, help="gateway port (default 8000 or FANGFAN_GATEWAY_PORT)")

    tok = sub.add_parser("token", help="print a development JWT")
    tok.add_argument("--role", required=True, choices=ROLES)
    tok.add_argument("--region", required=True, help="region code prefix: 2, 4, 6, 9 or 12 digits ('' for admin)")
    tok.add_argument("--dept", default=None, help="department code (role department)")
    tok.add_argument("--sub", default=None, help="subject (user id; a citizen's resident ID number)")
    tok.add_argument("--ttl", type=int, default=8 * 3600, help="seconds until it expires")

    gen = sub.add_parser("generate", help="deterministic synthetic households")
    from shared.cli import generate

    generate.add_arguments(gen)

    mig = sub.add_parser("migrate", help="apply every service's migrations (once, before the services start)")
    mig.add_argument("--service", default="all", choices=["all", *SERVICES, "gateway"])

    serve = sub.add_parser("serve", help="run one service (or the gateway) in the foreground — the container command")
    serve.add_argument("service", choices=[*SERVICES, "gateway"])
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1)

    demo = sub.add_parser(
        "demo", help="a whole system in one process, walking one household from self-application to monitored"
    )
    demo.add_argument("--households", type=int, default=300, help="size of the synthetic county")
    demo.add_argument(
        "--stay", action="store_true", help="keep running afterwards (gateway on port 8000) to look at /console"
    )

    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "up":
        from shared.cli.launcher import run_up

        return run_up(settings, gateway_port=args.port)
    if args.command == "token":
        print(
            make_token(
                sub=args.sub or f"dev-{args.role}-{args.region or 'all'}",
                role=args.role,
                region=args.region,
                dept=args.dept,
                settings=settings,
                ttl_s=args.ttl,
            )
        )
        return 0
    if args.command == "generate":
        return generate.run(args)
    if args.command == "migrate":
        from shared.cli.ops import run_migrate

        return run_migrate(settings, args.service)
    if args.command == "serve":
        from shared.cli.ops import run_serve

        return run_serve(settings, args.service, host=args.host, port=args.port, workers=args.workers)
    if args.command == "demo":
        from shared.cli.demo import run_demo

        return run_demo(settings, households=args.households, stay=args.stay)
    parser.error("unknown command")
    return 2


if __name__ == "__main__":
    sys.exit(main())
