"""Workspace export: everything of one workspace as JSON + media files in one zip with a
manifest, through the HTTP API (streamed, admins and owners) and `postwizard export`; no
credential, API key or webhook secret ever in it."""

from __future__ import annotations

import io
import json
import os
import stat
import uuid
import zipfile
from pathlib import Path

import pytest
from fastapi import FastAPI
from PIL import Image

from postwizard.api.resources import resources_of
from postwizard.workspaces.export import FLUSH_BYTES, export_chunks
from tests.api_client import ApiClient, invite, sign_up_by_invitation
from tests.conftest import TEST_SECRET
from tests.ops_data import BOT_TOKEN, MODEL_API_KEY, Populated, instance_env, populate, run_cli


async def add_more(api: ApiClient, workspace_id: str, post_id: str) -> str:
    """A note, a goal, a comment and a webhook on top of `populate`; returns the webhook secret."""
    base = f"/api/v1/workspaces/{workspace_id}"
    note = await api.post(f"{base}/notes", json={"title": "Sourdough idea", "tags": ["bread"]})
    assert note.status_code == 201, note.text
    goal = await api.post(
        f"{base}/growth/goals",
        json={"metric": "posts_per_week", "target": 3, "deadline": "2030-01-31"},
    )
    assert goal.status_code == 201, goal.text
    comment = await api.post(f"{base}/posts/{post_id}/comments", json={"body": "Looks tasty"})
    assert comment.status_code == 201, comment.text
    hook = await api.post(
        f"{base}/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["post.published"]}
    )
    assert hook.status_code == 201, hook.text
    secret: str = hook.json()["secret"]
    return secret


def read_archive(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def check_archive(members: dict[str, bytes], populated: Populated, secrets: list[str]) -> None:
    manifest = json.loads(members["manifest.json"])
    assert manifest["format"] == "postwizard-workspace-export"
    assert manifest["format_version"] == 1
    assert manifest["created_at"]
    assert manifest["workspace"] == {"id": populated.workspace_id, "name": "Acme"}
    for path, count in manifest["counts"].items():
        assert len(json.loads(members[path])) == count, path
    counts = manifest["counts"]
    assert counts["posts.json"] == 1
    assert counts["accounts.json"] == 2
    assert counts["analytics/account_stats.json"] == 2
    assert counts["analytics/post_metrics.json"] == 1
    assert counts["notes/notes.json"] == 1
    assert counts["growth/goals.json"] == 1
    assert counts["webhooks.json"] == 1
    assert counts["captions/settings.json"] == 1

    workspace = json.loads(members["workspace.json"])
    assert [m["role"] for m in workspace["members"]] == ["owner", "viewer"]

    [post] = json.loads(members["posts.json"])
    assert post["id"] == populated.post_id
    assert post["text"] == "Bread with a picture"
    assert [m["media_id"] for m in post["media"]] == [populated.media_id]
    assert len(post["targets"]) == 1
    assert [c["body"] for c in post["comments"]] == ["Looks tasty"]
    [delivery] = post["deliveries"]
    assert delivery["state"] == "scheduled"
    assert delivery["attempts"] == []

    [media] = json.loads(members["media.json"])
    assert media["id"] == populated.media_id
    assert media["original_filename"] == "logo.png"
    assert len(members[media["file"]]) == media["size_bytes"]
    assert Image.open(io.BytesIO(members[media["file"]])).size == (32, 16)
    assert manifest["media"] == {"files": 1, "bytes": media["size_bytes"], "missing": []}

    accounts = json.loads(members["accounts.json"])
    assert {a["network"] for a in accounts} == {"sandbox", "telegram"}
    assert all("credentials_encrypted" not in a for a in accounts)
    [hook] = json.loads(members["webhooks.json"])
    assert "secret_encrypted" not in hook
    assert hook["url"] == "http://127.0.0.1:9/hook"
    [caption_settings] = json.loads(members["captions/settings.json"])
    assert "api_key_encrypted" not in caption_settings
    for name, content in members.items():
        for secret in secrets:
            assert secret.encode() not in content, (name, secret)


async def test_admins_export_everything_but_secrets_as_a_streamed_zip(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    populated = await populate(both_app, both_client)
    webhook_secret = await add_more(both_client, populated.workspace_id, populated.post_id)
    url = f"/api/v1/workspaces/{populated.workspace_id}/export"
    async with ApiClient.for_app(both_app) as viewer_api:
        token = await invite(both_client, populated.workspace_id, "viewer")
        await sign_up_by_invitation(viewer_api, token, "vera@example.com")
        refused = await viewer_api.get(url)
        assert refused.status_code == 403, refused.text
        assert "admin role" in refused.json()["error"]["message"]

    response = await both_client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="postwizard-acme-')
    assert disposition.endswith('.zip"')
    check_archive(
        read_archive(response.content), populated, [BOT_TOKEN, MODEL_API_KEY, webhook_secret]
    )


async def test_the_archive_is_produced_in_pieces(app: FastAPI, client: ApiClient) -> None:
    """A media file several times the flush size arrives in several chunks, none much larger
    than the flush size: the archive is never assembled in memory."""
    populated = await populate(app, client)
    noise = Image.frombytes("RGB", (800, 600), os.urandom(800 * 600 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    uploaded = await client.post(
        f"/api/v1/workspaces/{populated.workspace_id}/media",
        files={"file": ("noise.png", buffer.getvalue(), "image/png")},
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["size_bytes"] > 4 * FLUSH_BYTES
    held = resources_of(app)
    chunks = [
        chunk
        async for chunk in export_chunks(
            held.session_factory, held.media_storage, uuid.UUID(populated.workspace_id)
        )
    ]
    assert len(chunks) > 4
    assert max(len(chunk) for chunk in chunks) <= 2 * 1024 * 1024
    members = read_archive(b"".join(chunks))
    assert sum(1 for name in members if name.startswith("media/")) == 2


async def test_cli_export_by_name_with_a_progress_bar_and_help(
    app: FastAPI, client: ApiClient, settings_env: dict[str, str], tmp_path: Path
) -> None:
    populated = await populate(app, client)
    webhook_secret = await add_more(client, populated.workspace_id, populated.post_id)
    async with ApiClient.for_app(app) as viewer_api:
        token = await invite(client, populated.workspace_id, "viewer")
        await sign_up_by_invitation(viewer_api, token, "vera@example.com")
    target = tmp_path / "exports" / "acme.zip"

    made = run_cli("export", "--workspace", "Acme", "-o", str(target), env=settings_env)
    assert made.returncode == 0, made.stderr
    assert "Exported “Acme”" in made.stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    check_archive(
        read_archive(target.read_bytes()), populated, [BOT_TOKEN, MODEL_API_KEY, webhook_secret]
    )
    unknown = run_cli("export", "--workspace", "Nope", env=settings_env)
    assert unknown.returncode == 1
    assert "No workspace has the id or name “Nope”" in unknown.stderr
    assert "“Acme”" in unknown.stderr
    assert not list(Path.cwd().glob("postwizard-nope-*.zip"))

    shown = run_cli("export", "--help", env=settings_env)
    assert shown.returncode == 0
    for part in ("--workspace", "--output", "manifest.json", "docs/export.md"):
        assert part in shown.stdout


@pytest.fixture
def settings_env(app: FastAPI) -> dict[str, str]:
    settings = resources_of(app).settings
    return instance_env(settings.data_dir, settings.effective_database_url, TEST_SECRET)
