"""Personal API tokens: shown once, hashed at rest, usable as Bearer, revocable."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import select

from postwizard.api.resources import resources_of
from postwizard.auth.models import ApiToken
from tests.api_client import ApiClient, set_up_owner


async def test_token_works_as_bearer_and_stops_working_when_revoked(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    await set_up_owner(both_client)
    created = await both_client.post("/api/v1/me/tokens", json={"name": "zapier"})
    assert created.status_code == 201
    secret = created.json()["secret"]
    token_id = created.json()["token"]["id"]
    assert secret.startswith("pw_")
    assert created.json()["token"]["prefix"] == secret[:10]

    async with ApiClient.for_app(both_app) as script:
        script.csrf = False
        headers = {"Authorization": f"Bearer {secret}"}
        me = await script.get("/api/v1/me", headers=headers)
        assert me.status_code == 200
        assert me.json()["user"]["email"] == "owner@example.com"
        # Bearer requests are not cookie-authenticated, so they need no CSRF token.
        renamed = await script.patch("/api/v1/me", json={"name": "Scripted"}, headers=headers)
        assert renamed.status_code == 200

        listed = (await both_client.get("/api/v1/me/tokens")).json()["items"]
        assert [t["name"] for t in listed] == ["zapier"]
        assert listed[0]["last_used_at"] is not None
        assert secret not in str(listed)

        assert (await both_client.delete(f"/api/v1/me/tokens/{token_id}")).status_code == 204
        refused = await script.get("/api/v1/me", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_token"
    assert (await both_client.get("/api/v1/me/tokens")).json()["items"] == []


async def test_only_a_hash_of_the_token_is_stored(app: FastAPI, client: ApiClient) -> None:
    await set_up_owner(client)
    secret = (await client.post("/api/v1/me/tokens", json={"name": "ci"})).json()["secret"]
    async with resources_of(app).session_factory() as session:
        stored = (await session.scalars(select(ApiToken))).one()
    assert secret not in {stored.token_hash, stored.prefix}
    assert len(stored.token_hash) == 64


async def test_malformed_or_unknown_bearer_is_refused(client: ApiClient) -> None:
    await set_up_owner(client)
    for header in ("Bearer", "Basic abc", "Bearer pw_not-a-real-token"):
        response = await client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["error"]["code"] == "invalid_token"


async def test_revoking_someone_elses_or_unknown_token_is_not_found(client: ApiClient) -> None:
    await set_up_owner(client)
    response = await client.delete("/api/v1/me/tokens/01a20044-e2e2-7c15-afcc-ef719fb53866")
    assert response.status_code == 404
    bad_id = await client.delete("/api/v1/me/tokens/not-a-uuid")
    assert bad_id.status_code == 422
    assert bad_id.json()["error"]["fields"][0]["field"] == "token_id"
