"""`postwizard rotate-key`: every stored credential is re-encrypted under the new key (and no
longer opens with the old one), the key file is replaced in place, a webhook still signs with
its secret afterwards, and a rotation that cannot read the stored credentials changes nothing."""

from __future__ import annotations

import stat
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from postwizard.api.resources import resources_of
from postwizard.app import create_app
from postwizard.cli.keys import SEALED_COLUMNS
from postwizard.config import Settings
from postwizard.errors import PostWizardError
from postwizard.notifications.models import OutboxMessage, WebhookEndpoint
from tests.api_client import ApiClient
from tests.notification_support import WebhookReceiver, eventually, sender_for
from tests.ops_data import BOT_TOKEN, MODEL_API_KEY, populate, run_cli, stored_secrets
from tests.support.serving import serving
from tests.test_notifications import verify

EXPECTED = ({"bot_token": BOT_TOKEN}, MODEL_API_KEY)


async def populated_instance(settings: Settings, webhook_url: str | None = None) -> str | None:
    """Populate the instance; with `webhook_url`, also add a webhook there and return its
    signing secret."""
    application = create_app(settings)
    async with (
        application.router.lifespan_context(application),
        ApiClient.for_app(application) as api,
    ):
        populated = await populate(application, api)
        if webhook_url is None:
            return None
        created = await api.post(
            f"/api/v1/workspaces/{populated.workspace_id}/webhooks",
            json={"url": webhook_url, "events": ["post.published"]},
        )
        assert created.status_code == 201, created.text
        secret: str = created.json()["secret"]
        return secret


async def send_one_webhook(app: FastAPI, workspace_id: uuid.UUID) -> None:
    """Publish an event and let a sender deliver the webhook call it queues."""
    await resources_of(app).bus.publish(
        workspace_id, "post.published", {"post_id": str(uuid.uuid4())}
    )

    async def queued() -> bool:
        async with resources_of(app).session_factory() as session:
            return bool(await session.scalar(select(func.count()).select_from(OutboxMessage)))

    await eventually(queued)
    sender = sender_for(app)
    try:
        assert await sender.work_once(datetime.now(UTC)) == 1
    finally:
        await sender.aclose()


def test_every_sealed_column_is_binary_and_so_never_exported() -> None:
    """The workspace export leaves out binary columns; every sealed column must be one."""
    from sqlalchemy import LargeBinary

    for column in SEALED_COLUMNS:
        assert isinstance(column.blob.property.columns[0].type, LargeBinary), column.label
    assert WebhookEndpoint.secret_encrypted in [c.blob for c in SEALED_COLUMNS]


async def test_rotation_with_the_data_dir_key_file(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    settings = make_settings(database_url=sqlite_url, secret_key="")
    receiver = WebhookReceiver([200])
    with serving(receiver.app()) as base:
        webhook_secret = await populated_instance(settings, f"{base}/hook")
        assert webhook_secret is not None
        await _test_rotation_with_the_key_file(settings, sqlite_url, receiver, webhook_secret)


async def _test_rotation_with_the_key_file(
    settings: Settings, sqlite_url: str, receiver: WebhookReceiver, webhook_secret: str
) -> None:
    key_file = settings.data_dir / "secret_key"
    old_key = key_file.read_text()
    env = {"POSTWIZARD_DATA_DIR": str(settings.data_dir), "POSTWIZARD_DATABASE_URL": sqlite_url}

    rotated = run_cli("rotate-key", env=env)
    assert rotated.returncode == 0, rotated.stderr
    assert (
        "account credentials: 2, workspace model API keys: 1, webhook signing secrets: 1"
        in rotated.stdout.replace("\n", " ")
    )
    new_key = key_file.read_text()
    assert new_key != old_key
    assert len(new_key) >= 32
    assert new_key not in rotated.stdout  # it went to the file, not to the terminal
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in settings.data_dir.iterdir() if "secret" in p.name) == [
        "secret_key"
    ]
    assert await stored_secrets(sqlite_url, new_key) == EXPECTED
    with pytest.raises(PostWizardError):
        await stored_secrets(sqlite_url, old_key)
    # The instance starts and reads its credentials with the new key.
    doctor = run_cli("doctor", env=env)
    assert doctor.returncode == 0, doctor.stdout
    # The webhook still signs with the secret it was given before the rotation.
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        async with resources_of(application).session_factory() as session:
            workspace_id = await session.scalar(select(WebhookEndpoint.workspace_id))
        assert workspace_id is not None
        await send_one_webhook(application, workspace_id)
    [call] = receiver.received
    assert verify(webhook_secret, call.headers["postwizard-signature"], call.body)


async def test_rotation_with_the_environment_variable(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    old_key = "the-old-instance-secret-" + "o" * 32
    new_key = "the-new-instance-secret-" + "n" * 32
    settings = make_settings(database_url=sqlite_url, secret_key=old_key)
    await populated_instance(settings)
    env = {
        "POSTWIZARD_DATA_DIR": str(settings.data_dir),
        "POSTWIZARD_DATABASE_URL": sqlite_url,
        "POSTWIZARD_SECRET_KEY": old_key,
    }

    too_short = run_cli("rotate-key", "--new-key", "short", env=env)
    assert too_short.returncode == 2
    assert "at least 32 characters" in too_short.stderr

    wrong_old = run_cli(
        "rotate-key",
        env={
            **env,
            "POSTWIZARD_SECRET_KEY": "not-the-key-" + "x" * 32,
            "POSTWIZARD_NEW_SECRET_KEY": new_key,
        },
    )
    assert wrong_old.returncode == 1
    assert "cannot be decrypted" in wrong_old.stderr
    assert await stored_secrets(sqlite_url, old_key) == EXPECTED  # nothing changed

    rotated = run_cli("rotate-key", env={**env, "POSTWIZARD_NEW_SECRET_KEY": new_key})
    assert rotated.returncode == 0, rotated.stderr
    assert "POSTWIZARD_SECRET_KEY" in rotated.stdout
    assert new_key not in rotated.stdout  # given by the person: not echoed back
    assert not (settings.data_dir / "secret_key").exists()
    assert await stored_secrets(sqlite_url, new_key) == EXPECTED
    with pytest.raises(PostWizardError):
        await stored_secrets(sqlite_url, old_key)
