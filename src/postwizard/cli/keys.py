"""`postwizard rotate-key`: re-encrypt every stored secret under a new instance secret key.

What the instance secret encrypts at rest: each account's network credentials
(`social_account.credentials_encrypted`) and each workspace's own model-server API key
(`caption_settings.api_key_encrypted`). Both are re-encrypted in one transaction, so a failure
leaves everything under the old key. Signed public media links and OAuth sign-ins in progress
are derived from the secret too, but not stored: they simply stop working, as documented.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

import postwizard.db.models  # noqa: F401 - every table, so foreign keys resolve
from postwizard.accounts.credentials import decrypt_credentials, encrypt_credentials
from postwizard.accounts.models import SocialAccount
from postwizard.captions.models import CaptionSettings
from postwizard.captions.service import decrypt_api_key, encrypt_api_key
from postwizard.config import SECRET_KEY_FILE, Settings, check_secret
from postwizard.errors import PostWizardError

PENDING_SUFFIX = ".new"


@dataclass(frozen=True)
class Rotation:
    accounts: int
    api_keys: int


def generate_key() -> str:
    return secrets.token_urlsafe(48)


def validate_new_key(old_key: str, new_key: str) -> None:
    try:
        check_secret(new_key, source="The new key")
    except ValueError as error:
        raise PostWizardError(str(error)) from None
    if not new_key:
        raise PostWizardError("The new key is empty.")
    if new_key == old_key:
        raise PostWizardError("The new key is the current key; nothing would change.")


async def reencrypt_all(session: AsyncSession, old_key: str, new_key: str) -> Rotation:
    """Re-encrypt every stored secret (in the caller's transaction). Anything that does not open
    with `old_key` stops the rotation with a PostWizardError before anything is committed."""
    accounts = (
        await session.execute(
            select(SocialAccount.id, SocialAccount.credentials_encrypted)
            .where(SocialAccount.credentials_encrypted.is_not(None))
            .with_for_update()
        )
    ).all()
    for account_id, blob in accounts:
        credentials = decrypt_credentials(old_key, blob)
        sealed = encrypt_credentials(new_key, credentials)
        if decrypt_credentials(new_key, sealed) != credentials:  # pragma: no cover - paranoia
            raise PostWizardError(f"Re-encrypting account {account_id} did not round-trip.")
        await session.execute(
            update(SocialAccount)
            .where(SocialAccount.id == account_id)
            .values(credentials_encrypted=sealed)
        )
    api_keys = (
        await session.execute(
            select(CaptionSettings.workspace_id, CaptionSettings.api_key_encrypted)
            .where(CaptionSettings.api_key_encrypted.is_not(None))
            .with_for_update()
        )
    ).all()
    for workspace_id, blob in api_keys:
        api_key = decrypt_api_key(old_key, blob)
        await session.execute(
            update(CaptionSettings)
            .where(CaptionSettings.workspace_id == workspace_id)
            .values(api_key_encrypted=encrypt_api_key(new_key, api_key))
        )
    return Rotation(accounts=len(accounts), api_keys=len(api_keys))


def key_file(settings: Settings) -> Path | None:
    """The data-dir key file when the secret comes from there; None when it comes from
    POSTWIZARD_SECRET_KEY."""
    if settings.secret_key.get_secret_value():
        return None
    return settings.data_dir / SECRET_KEY_FILE


def stage_key_file(path: Path, new_key: str) -> Path:
    """Write the new key next to the old one (mode 0600, flushed to disk) before the database
    changes, so it is never lost: after a crash it is still there to finish the rotation."""
    pending = path.with_name(path.name + PENDING_SUFFIX)
    pending.unlink(missing_ok=True)
    fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(new_key)
        handle.flush()
        os.fsync(handle.fileno())
    return pending


def commit_key_file(pending: Path, path: Path) -> None:
    os.replace(pending, path)  # atomic: readers see the old key or the new one
