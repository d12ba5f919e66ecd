"""A populated instance for the operations tests (backup/restore, key rotation): posts with
media, accounts with encrypted credentials, a workspace model API key and analytics snapshots;
and a table-by-table dump to compare two databases with."""

from __future__ import annotations

import io
import os
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from PIL import Image
from sqlalchemy import select
from sqlalchemy.engine import Connection

import postwizard.db.models  # noqa: F401 - every table on the metadata
from postwizard.accounts.credentials import decrypt_credentials, encrypt_credentials
from postwizard.accounts.models import SocialAccount
from postwizard.analytics.models import AccountStatsSnapshot, PostMetricSnapshot
from postwizard.api.resources import resources_of
from postwizard.captions.models import CaptionSettings, ProviderChoice
from postwizard.captions.service import decrypt_api_key, encrypt_api_key
from postwizard.db.base import Base
from postwizard.db.engine import create_engine
from postwizard.platforms.networks import Network
from postwizard.publishing.models import Delivery
from tests.api_client import ApiClient, add_sandbox_account, schedule_post, set_up_owner
from tests.server_process import POSTWIZARD

BOT_TOKEN = "7012345678:AAH-bot-token-that-must-stay-secret"
MODEL_API_KEY = "sk-model-api-key-that-must-stay-secret"


@dataclass(frozen=True)
class Populated:
    workspace_id: str
    telegram_account_id: str
    media_id: str
    post_id: str


def png_bytes(colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 16), colour).save(buffer, format="PNG")
    return buffer.getvalue()


async def populate(app: FastAPI, api: ApiClient) -> Populated:
    secret_key = resources_of(app).secret_key
    owner = await set_up_owner(api)
    uploaded = await api.post(
        f"/api/v1/workspaces/{owner.workspace_id}/media",
        files={"file": ("logo.png", png_bytes(), "image/png")},
    )
    assert uploaded.status_code == 201, uploaded.text
    media_id = uploaded.json()["id"]
    sandbox = await add_sandbox_account(api, owner.workspace_id, "bakery")
    at = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    post_id = await schedule_post(
        api, owner.workspace_id, [sandbox], at, text="Bread with a picture", media_ids=[media_id]
    )
    workspace = uuid.UUID(owner.workspace_id)
    async with resources_of(app).session_factory() as session:
        telegram = SocialAccount(
            workspace_id=workspace,
            network=Network.TELEGRAM,
            display_name="Bakery channel",
            handle="@bakery",
            timezone="UTC",
            remote_id="-1001234",
            credentials_encrypted=encrypt_credentials(secret_key, {"bot_token": BOT_TOKEN}),
        )
        session.add(telegram)
        session.add(
            CaptionSettings(
                workspace_id=workspace,
                provider=ProviderChoice.OPENAI_COMPATIBLE,
                base_url="http://127.0.0.1:9/v1",
                model="llama3.2",
                api_key_encrypted=encrypt_api_key(secret_key, MODEL_API_KEY),
            )
        )
        await session.flush()
        now = datetime.now(UTC)
        for hours, followers in ((2, 100), (1, 120)):
            session.add(
                AccountStatsSnapshot(
                    workspace_id=workspace,
                    account_id=telegram.id,
                    collected_at=now - timedelta(hours=hours),
                    followers=followers,
                    following=3,
                    posts=7,
                )
            )
        delivery = (
            await session.execute(select(Delivery).where(Delivery.post_id == uuid.UUID(post_id)))
        ).scalar_one()
        session.add(
            PostMetricSnapshot(
                workspace_id=workspace,
                delivery_id=delivery.id,
                account_id=delivery.account_id,
                collected_at=now,
                impressions=1234,
                likes=56,
                extra={"saves": 3},
            )
        )
        await session.commit()
        return Populated(owner.workspace_id, str(telegram.id), media_id, post_id)


def _all_rows(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for table in Base.metadata.sorted_tables:
        query = select(table).order_by(*table.primary_key.columns)
        rows[table.name] = [tuple(row) for row in connection.execute(query)]
    return rows


async def dump_database(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_all_rows)
    finally:
        await engine.dispose()


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [POSTWIZARD, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **env},
        timeout=timeout,
        check=False,
    )


def instance_env(data_dir: Path, database_url: str, secret_key: str | None) -> dict[str, str]:
    env = {"POSTWIZARD_DATA_DIR": str(data_dir), "POSTWIZARD_DATABASE_URL": database_url}
    if secret_key is not None:
        env["POSTWIZARD_SECRET_KEY"] = secret_key
    return env


async def stored_secrets(database_url: str, secret_key: str) -> tuple[dict[str, str], str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            blob = (
                await connection.execute(
                    select(SocialAccount.credentials_encrypted).where(
                        SocialAccount.network == Network.TELEGRAM
                    )
                )
            ).scalar_one()
            key_blob = (
                await connection.execute(select(CaptionSettings.api_key_encrypted))
            ).scalar_one()
    finally:
        await engine.dispose()
    return decrypt_credentials(secret_key, blob), decrypt_api_key(secret_key, key_blob)
