"""Deletion that really deletes, through the HTTP API on SQLite and PostgreSQL: an owner deletes a
workspace, a person deletes their own account, an admin removes a connected account. Afterwards
no row of any table mentions what was deleted and its media files are gone from disk; refused
requests (wrong password, wrong name, too low a role, a sole owner) delete nothing."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection

import postwizard.db.models  # noqa: F401 - every table on the metadata
from postwizard.accounts.credentials import decrypt_credentials
from postwizard.accounts.models import SocialAccount
from postwizard.api.resources import resources_of
from postwizard.db.base import Base
from postwizard.db.engine import create_engine
from postwizard.notifications.models import (
    Notification,
    OutboxKind,
    OutboxMessage,
    PushKind,
    PushSubscription,
)
from tests.api_client import (
    ApiClient,
    add_sandbox_account,
    create_workspace,
    invite,
    set_up_owner,
    sign_up_by_invitation,
)
from tests.ops_data import BOT_TOKEN, png_bytes, populate
from tests.test_workspace_export import add_more


def _rows_as_text(connection: Connection) -> dict[str, list[str]]:
    present = set(inspect(connection).get_table_names())
    found: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        if table.name not in present:
            continue
        texts = []
        for row in connection.execute(select(table)):
            values = []
            for value in row:
                if isinstance(value, uuid.UUID):
                    values += [str(value), value.hex]
                elif isinstance(value, dict | list):
                    values.append(json.dumps(value, default=str))
                elif not isinstance(value, bytes):  # sealed secrets: checked separately
                    values.append(str(value))
            texts.append(" | ".join(values))
        found[table.name] = sorted(texts)
    return found


async def all_rows(app: FastAPI) -> dict[str, list[str]]:
    """Every row of every table, as text."""
    engine = create_engine(resources_of(app).settings.effective_database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_rows_as_text)
    finally:
        await engine.dispose()


async def rows_mentioning(app: FastAPI, *needles: str) -> list[str]:
    """Rows (of any table) that mention any of `needles` (ids in either spelling, emails)."""
    spelled = {n for needle in needles for n in (needle, needle.replace("-", ""))}
    return [
        f"{table}: {text}"
        for table, texts in (await all_rows(app)).items()
        for text in texts
        if any(n in text for n in spelled)
    ]


def stored_files(app: FastAPI) -> set[str]:
    root = resources_of(app).settings.data_dir / "media"
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def sqlite_file_bytes(app: FastAPI) -> bytes:
    path = Path(resources_of(app).settings.effective_database_url.split("///", 1)[1])
    return b"".join(
        candidate.read_bytes()
        for candidate in (path, path.with_name(path.name + "-wal"))
        if candidate.exists()
    )


async def upload(api: ApiClient, workspace_id: str, image: bytes) -> dict[str, Any]:
    response = await api.post(
        f"/api/v1/workspaces/{workspace_id}/media",
        files={"file": ("picture.png", image, "image/png")},
    )
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_owner_deletes_a_workspace_with_its_rows_and_files(
    both_app: FastAPI, both_client: ApiClient, database_url: str
) -> None:
    app, owner_api = both_app, both_client
    acme = await populate(app, owner_api)
    await add_more(owner_api, acme.workspace_id, acme.post_id)
    marker = f"secret-recipe-{uuid.uuid4().hex}"
    base = f"/api/v1/workspaces/{acme.workspace_id}"
    note = await owner_api.post(f"{base}/notes", json={"title": marker, "body": marker})
    assert note.status_code == 201, note.text
    own_file = await upload(owner_api, acme.workspace_id, png_bytes((10, 200, 30)))
    # Another workspace holds the same bytes as Acme's logo: that file must stay.
    beta = await create_workspace(owner_api, "Beta")
    shared = await upload(owner_api, beta, png_bytes())
    files_before = stored_files(app)

    async with ApiClient.for_app(app) as admin_api:
        await sign_up_by_invitation(
            admin_api, await invite(owner_api, acme.workspace_id, "admin"), "adam@example.com"
        )
        before = await all_rows(app)
        refused = await admin_api.request("DELETE", base, json={"confirm_name": "Acme"})
        assert refused.status_code == 403, refused.text
        assert "owner role" in refused.json()["error"]["message"]
        mistyped = await owner_api.request("DELETE", base, json={"confirm_name": "acme"})
        assert mistyped.status_code == 400, mistyped.text
        assert mistyped.json()["error"]["fields"][0]["field"] == "confirm_name"
        assert "“Acme”" in mistyped.json()["error"]["message"]
        assert await all_rows(app) == before

        deleted = await owner_api.request("DELETE", base, json={"confirm_name": " Acme "})
        assert deleted.status_code == 204, deleted.text

        assert (await owner_api.get(base)).status_code == 404
        adam = (await admin_api.get("/api/v1/me")).json()
        assert adam["workspaces"] == []
        assert adam["current_workspace_id"] is None

    leftovers = await rows_mentioning(
        app, acme.workspace_id, acme.post_id, acme.media_id, acme.telegram_account_id, marker
    )
    assert leftovers == []
    remaining = stored_files(app)
    own_keys = files_before - remaining
    assert own_keys
    assert all(own_file["sha256"] in k for k in own_keys)
    assert any(shared["sha256"] in key for key in remaining)
    beta_file = await owner_api.get(f"/api/v1/workspaces/{beta}/media/{shared['id']}/file")
    assert beta_file.status_code == 200
    if database_url.startswith("sqlite"):
        # secure_delete zeroed the rows' bytes, and the write-ahead log was folded in.
        assert marker.encode() not in sqlite_file_bytes(app)


async def test_a_person_deletes_their_account_and_only_their_things(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    app, olivia_api = both_app, both_client
    olivia = await set_up_owner(olivia_api)
    acme = f"/api/v1/workspaces/{olivia.workspace_id}"
    async with ApiClient.for_app(app) as dan_api:
        dan = await sign_up_by_invitation(
            dan_api, await invite(olivia_api, olivia.workspace_id, "admin"), "dan@example.com"
        )
        # Dan's work in the shared workspace stays, without his name.
        draft = await dan_api.post(f"{acme}/posts", json={"text": "Dan's draft", "targets": []})
        assert draft.status_code == 201, draft.text
        shared_post = draft.json()["id"]
        commented = await dan_api.post(
            f"{acme}/posts/{shared_post}/comments", json={"body": "Dan was here"}
        )
        assert commented.status_code == 201, commented.text
        shared_media = await upload(dan_api, olivia.workspace_id, png_bytes((1, 2, 3)))
        made = await dan_api.post(f"{acme}/invitations", json={"role": "viewer"})
        assert made.status_code == 201, made.text
        # Dan's own workspace goes with him.
        corner = await create_workspace(dan_api, "Dan's corner")
        corner_media = await upload(dan_api, corner, png_bytes((4, 5, 6)))
        corner_account = await add_sandbox_account(dan_api, corner, "dansbakes")
        corner_note = await dan_api.post(
            f"/api/v1/workspaces/{corner}/notes", json={"title": "Dan's idea"}
        )
        assert corner_note.status_code == 201, corner_note.text
        token = await dan_api.post("/api/v1/me/tokens", json={"name": "script"})
        assert token.status_code == 201, token.text
        secret = token.json()["secret"]
        preference = await dan_api.put(
            "/api/v1/notification-preferences",
            json={"items": [{"event_type": "post.published", "email": False}]},
        )
        assert preference.status_code == 200, preference.text
        async with resources_of(app).session_factory() as session:
            session.add(
                Notification(
                    workspace_id=uuid.UUID(olivia.workspace_id),
                    user_id=uuid.UUID(dan.user_id),
                    type="post.published",
                    title="Published",
                    dedup_key=f"{dan.user_id}:test",
                )
            )
            session.add(
                PushSubscription(
                    user_id=uuid.UUID(dan.user_id),
                    kind=PushKind.WEB_PUSH,
                    target=f"https://push.example.com/send/{uuid.uuid4().hex}",
                    p256dh="BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                    auth="tBHItJI5svbpez7KI4CCXg",
                )
            )
            session.add(
                OutboxMessage(
                    workspace_id=uuid.UUID(olivia.workspace_id),
                    kind=OutboxKind.EMAIL,
                    recipient=dan.email,
                    event_type="post.published",
                    payload={},
                    dedup_key=f"email:{dan.user_id}:test",
                )
            )
            await session.commit()
        # A workspace Dan alone owns while Olivia is in it: he must hand it over first.
        team = await create_workspace(dan_api, "Dan's team")
        joined = await olivia_api.post(
            f"/api/v1/invitations/{await invite(dan_api, team)}/accept", json={}
        )
        assert joined.status_code == 200, joined.text

        before = await all_rows(app)
        wrong = await dan_api.request("DELETE", "/api/v1/me", json={"password": "not my password"})
        assert wrong.status_code == 400, wrong.text
        assert wrong.json()["error"]["fields"] == [
            {"field": "password", "message": "does not match"}
        ]
        sole = await dan_api.request("DELETE", "/api/v1/me", json={"password": dan.password})
        assert sole.status_code == 409, sole.text
        assert sole.json()["error"]["code"] == "sole_owner"
        assert "“Dan's team” (1 other member)" in sole.json()["error"]["message"]
        assert "owner first" in sole.json()["error"]["message"]
        assert await all_rows(app) == before

        handed = await dan_api.patch(
            f"/api/v1/workspaces/{team}/members/{olivia.user_id}", json={"role": "owner"}
        )
        assert handed.status_code == 200, handed.text
        files_before = stored_files(app)
        gone = await dan_api.request("DELETE", "/api/v1/me", json={"password": dan.password})
        assert gone.status_code == 204, gone.text
        assert 'pw_session=""' in gone.headers["set-cookie"]

        assert (await dan_api.get("/api/v1/me")).status_code == 401
        signed_in = await dan_api.post(
            "/api/v1/auth/login", json={"email": dan.email, "password": dan.password}
        )
        assert signed_in.status_code == 401
        by_token = await dan_api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert by_token.status_code == 401

    leftovers = await rows_mentioning(
        app, dan.user_id, dan.email, corner, corner_media["id"], corner_account
    )
    assert leftovers == []
    removed = files_before - stored_files(app)
    assert removed
    assert all(corner_media["sha256"] in key for key in removed)
    post = (await olivia_api.get(f"{acme}/posts/{shared_post}")).json()
    assert post["text"] == "Dan's draft"
    assert post["author_id"] is None
    [comment] = (await olivia_api.get(f"{acme}/posts/{shared_post}/comments")).json()
    assert comment["author_id"] is None
    media = (await olivia_api.get(f"{acme}/media/{shared_media['id']}")).json()
    assert media["uploaded_by_id"] is None
    assert (await olivia_api.get(f"{acme}/media/{shared_media['id']}/file")).status_code == 200
    invitations = (await olivia_api.get(f"{acme}/invitations")).json()["items"]
    assert made.json()["invitation"]["id"] not in [i["id"] for i in invitations]
    members = (await olivia_api.get(f"/api/v1/workspaces/{team}/members")).json()["items"]
    assert [(m["email"], m["role"]) for m in members] == [(olivia.email, "owner")]


async def test_removing_a_connected_account_deletes_its_credentials(
    app: FastAPI, client: ApiClient
) -> None:
    acme = await populate(app, client)
    url = f"/api/v1/workspaces/{acme.workspace_id}/accounts/{acme.telegram_account_id}"
    removed = await client.delete(url)
    assert removed.status_code == 204, removed.text
    assert await rows_mentioning(app, acme.telegram_account_id) == []
    held = resources_of(app)
    async with held.session_factory() as session:
        blobs = (await session.scalars(select(SocialAccount.credentials_encrypted))).all()
    opened = [decrypt_credentials(held.secret_key, blob) for blob in blobs]
    assert all(BOT_TOKEN not in json.dumps(credentials) for credentials in opened)
