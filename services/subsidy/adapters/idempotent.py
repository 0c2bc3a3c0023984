"""Idempotent recording of a decision (`Idempotency-Key`): the answer is stored in the use case's
own transaction, a refusal in one of its own; the same key and body again replay it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from services.subsidy.adapters.unit_of_work import SubsidyUnitOfWork
from shared import idempotency
from shared.app import ServiceContext
from shared.auth import Principal
from shared.db import UnitOfWork
from shared.errors import DomainError

__all__ = ["Answer", "idempotent", "unit_of_work"]

#: (status, body, replayed)
Answer = tuple[int, Any, bool]


def unit_of_work(uow: UnitOfWork) -> SubsidyUnitOfWork:
    """The unit of work `ctx.uow()` builds (`ServiceSpec.unit_of_work`), with its type."""
    assert isinstance(uow, SubsidyUnitOfWork), "the subsidy app sets its unit of work (main.spec)"
    return uow


async def idempotent(
    ctx: ServiceContext,
    principal: Principal,
    *,
    route: str,
    key: str | None,
    body: Any,
    status: int,
    instance: str,
    run: Callable[[SubsidyUnitOfWork], Awaitable[Any]],
    to_body: Callable[[Any], Any],
) -> Answer:
    """Run `run` (a use case that commits) once per key; without a key, just run it. `to_body`
    maps the use case's result to the JSON answered, which is what a key keeps and replays."""
    if key is None:
        async with ctx.uow() as uow:
            return status, to_body(await run(unit_of_work(uow))), False
    keys = ctx.tables["idempotency_keys"]
    claim = await idempotency.claim(ctx.uow, keys, scope=idempotency.scope_for(route, principal), key=key, body=body)
    if claim.replay is not None:
        return (*claim.replay, True)
    try:
        async with ctx.uow() as uow:
            w = unit_of_work(uow)

            async def store(result: Any) -> None:
                await idempotency.complete(w.session, keys, claim, status, to_body(result))

            w.before_commit.append(store)
            out = await run(w)
    except DomainError as exc:
        # A refusal is an answer too: the same request again gets the same problem.
        problem = exc.to_problem(instance=instance)
        async with ctx.uow() as uow:
            await idempotency.complete(uow.session, keys, claim, exc.status, problem)
            await uow.commit()
        raise
    except BaseException:
        await idempotency.release(ctx.uow, keys, claim)
        raise
    return status, to_body(out), False
