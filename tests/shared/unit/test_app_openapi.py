"""The services' OpenAPI documents say what the error handlers send: a 422 is
application/problem+json (found by the schemathesis run: documented as application/json)."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from shared.app import PROBLEM_JSON, document_problems, install_error_handlers, request_body


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


class Leaf(BaseModel):
    name: str


class Branch(BaseModel):
    leaves: list[Leaf]
    parent: Branch | None = None


def test_request_body_writes_definitions_in_place() -> None:
    """A `#/$defs/…` reference would point at the OpenAPI document's root: `request_body`
    inlines the definitions (a recursive model keeps one level)."""
    extra = request_body(Branch.model_json_schema())
    schema = extra["requestBody"]["content"]["application/json"]["schema"]
    assert extra["requestBody"]["required"] is True
    assert "$defs" not in json.dumps(schema)
    assert schema["properties"]["leaves"]["items"]["properties"]["name"]["type"] == "string"
    assert schema["title"] == "Branch"
    assert schema["properties"]["parent"]["anyOf"][0] == {"type": "object", "title": "Branch"}
