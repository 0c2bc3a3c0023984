"""The services' OpenAPI documents say what the error handlers send: a 422 is
application/problem+json (found by the schemathesis run: documented as application/json)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from shared.app import PROBLEM_JSON, document_problems, install_error_handlers


class Thing(BaseModel):
    name: str


async def test_validation_errors_are_documented_as_problem_json() -> None:
    app = FastAPI()
    install_error_handlers(app)
    document_problems(app)

    @app.post("/things")
    async def make(thing: Thing) -> Thing:
        return thing

    spec = app.openapi()
    resp = spec["paths"]["/things"]["post"]["responses"]["422"]
    assert list(resp["content"]) == [PROBLEM_JSON]
    assert resp["content"][PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/ValidationProblem"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert app.openapi() is spec

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post("/things", json={})
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_JSON
    assert set(spec["components"]["schemas"]["ValidationProblem"]["required"]) <= set(r.json())
