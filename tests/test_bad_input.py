"""Bad input gets a 4xx in the one error shape, and nothing is written."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from postwizard.api.resources import resources_of
from postwizard.auth.models import User
from postwizard.workspaces.models import Workspace
from tests.api_client import ApiClient, set_up_owner

GOOD_SETUP = {
    "email": "o@example.com",
    "password": "long-enough-pw",
    "name": "O",
    "workspace_name": "W",
}


async def row_counts(app: FastAPI) -> tuple[int, int]:
    async with resources_of(app).session_factory() as session:
        users = await session.scalar(select(func.count()).select_from(User))
        workspaces = await session.scalar(select(func.count()).select_from(Workspace))
        return users or 0, workspaces or 0


def assert_error_shape(body: dict[str, object], code: str) -> None:
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]


@pytest.mark.parametrize(
    ("payload", "status", "code", "field"),
    [
        (b'{"email": "o@example.com", "password": ', 400, "invalid_json", None),
        (b"[1, 2, 3]", 422, "validation_error", "body"),
        ({**GOOD_SETUP, "password": 1234567890123}, 422, "validation_error", "password"),
        ({**GOOD_SETUP, "email": "not-an-email"}, 422, "validation_error", "email"),
        ({**GOOD_SETUP, "is_admin": True}, 422, "validation_error", "is_admin"),
        ({k: v for k, v in GOOD_SETUP.items() if k != "name"}, 422, "validation_error", "name"),
        ({**GOOD_SETUP, "workspace_name": "x" * 101}, 422, "validation_error", "workspace_name"),
    ],
)
async def test_malformed_setup_is_refused_and_nothing_is_written(
    app: FastAPI, client: ApiClient, payload: object, status: int, code: str, field: str | None
) -> None:
    if isinstance(payload, bytes):
        response = await client.post(
            "/api/v1/setup", content=payload, headers={"Content-Type": "application/json"}
        )
    else:
        response = await client.post("/api/v1/setup", json=payload)
    assert response.status_code == status, response.text
    assert_error_shape(response.json(), code)
    if field is not None:
        assert field in [f["field"] for f in response.json()["error"]["fields"]]
    assert await row_counts(app) == (0, 0)
    assert (await client.get("/api/v1/setup")).json() == {"needs_setup": True}


async def test_oversized_body_is_refused_before_it_is_parsed(
    app: FastAPI, client: ApiClient
) -> None:
    huge = {**GOOD_SETUP, "name": "x" * 2_000_000}
    response = await client.post("/api/v1/setup", json=huge)
    assert response.status_code == 413
    assert_error_shape(response.json(), "payload_too_large")
    assert await row_counts(app) == (0, 0)


async def test_oversized_streamed_body_without_length_is_refused(
    app: FastAPI, client: ApiClient
) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 65536

    response = await client.post(
        "/api/v1/setup", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert await row_counts(app) == (0, 0)


async def test_wrong_types_in_query_and_path_name_the_field(client: ApiClient) -> None:
    await set_up_owner(client)
    limit = await client.get("/api/v1/workspaces", params={"limit": "lots"})
    assert limit.status_code == 422
    assert limit.json()["error"]["fields"][0]["field"] == "limit"
    too_many = await client.get("/api/v1/workspaces", params={"limit": 100000})
    assert too_many.status_code == 422
    path = await client.get("/api/v1/workspaces/123")
    assert path.status_code == 422
    assert path.json()["error"]["fields"][0]["field"] == "workspace_id"
    cursor = await client.get("/api/v1/workspaces", params={"cursor": "%%%garbage"})
    assert cursor.status_code == 400
    assert_error_shape(cursor.json(), "invalid_cursor")


async def test_unknown_paths_and_methods_use_the_error_shape(client: ApiClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert_error_shape(missing.json(), "not_found")
    method = await client.put("/api/v1/setup", json={})
    assert method.status_code == 405
    assert_error_shape(method.json(), "method_not_allowed")
