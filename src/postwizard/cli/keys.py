"""`postwizard rotate-key`: re-encrypt every stored secret under a new instance secret key.

What the instance secret encrypts at rest is listed once, in `SEALED_COLUMNS`: one entry per
column holding a sealed value (its table's key, the blob, and how to open and seal it). Every
entry is re-encrypted in one transaction, so a failure leaves everything under the old key.
A new sealed column needs one more entry there, nothing else. Signed public media links and
OAuth sign-ins in progress are derived from the secret too, but not stored: they simply stop
working, as documented.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

import postwizard.db.models  # noqa: F401 - every table, so foreign keys resolve
from postwizard.accounts.credentials import decrypt_credentials, encrypt_credentials
from postwizard.accounts.models import SocialAccount
from postwizard.captions.models import CaptionSettings
from postwizard.captions.service import decrypt_api_key, encrypt_api_key
from postwizard.config import SECRET_KEY_FILE, Settings, check_secret
from postwizard.errors import PostWizardError
from postwizard.notifications.models import InstanceKey, WebhookEndpoint
from postwizard.notifications.service import decrypt_secret, encrypt_secret
from postwizard.notifications.web_push import open_private_key, seal_private_key

PENDING_SUFFIX = ".new"


@dataclass(frozen=True)
class SealedColumn:
    """A column whose values are sealed with the instance secret: `open(key, blob)` gives the
    value back, `seal(key, value)` makes a blob of it."""

    label: str  # what the values are, plural: "account credentials"
    key: InstrumentedAttribute[Any]  # the row's primary key
    blob: InstrumentedAttribute[Any]
    open: Callable[[str, bytes], Any]
    seal: Callable[[str, Any], bytes]


SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn(
        "account credentials",
        SocialAccount.id,
        SocialAccount.credentials_encrypted,
        decrypt_credentials,
        encrypt_credentials,
    ),
    SealedColumn(
        "workspace model API keys",
        CaptionSettings.workspace_id,
        CaptionSettings.api_key_encrypted,
        decrypt_api_key,
        encrypt_api_key,
    ),
    SealedColumn(
        "webhook signing secrets",
        WebhookEndpoint.id,
        WebhookEndpoint.secret_encrypted,
        decrypt_secret,
        encrypt_secret,
    ),
    SealedColumn(
        "instance key pairs (Web Push VAPID)",
        InstanceKey.name,
        InstanceKey.private_key_encrypted,
        open_private_key,
        seal_private_key,
    ),
)


@dataclass(frozen=True)
class Rotation:
    counts: dict[str, int]  # label → values re-encrypted, in SEALED_COLUMNS order

    def summary(self) -> str:
        return ", ".join(f"{label}: {count}" for label, count in self.counts.items())


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


def _open(column: SealedColumn, secret_key: str, row_key: object, blob: bytes) -> Any:
    try:
        return column.open(secret_key, blob)
    except InvalidToken:
        raise PostWizardError(
            f"The {column.label} of {column.key.class_.__tablename__} {row_key} cannot be "
            "decrypted with the current key; nothing was changed."
        ) from None


async def reencrypt_column(
    session: AsyncSession, column: SealedColumn, old_key: str, new_key: str
) -> int:
    """Re-encrypt one sealed column (in the caller's transaction); returns the rows changed."""
    rows = (
        await session.execute(
            select(column.key, column.blob).where(column.blob.is_not(None)).with_for_update()
        )
    ).all()
    for row_key, blob in rows:
        value = _open(column, old_key, row_key, blob)
        sealed = column.seal(new_key, value)
        if _open(column, new_key, row_key, sealed) != value:  # pragma: no cover - paranoia
            raise PostWizardError(f"Re-encrypting {column.label} {row_key} did not round-trip.")
        await session.execute(
            update(column.key.class_).where(column.key == row_key).values({column.blob: sealed})
        )
    return len(rows)


async def reencrypt_all(session: AsyncSession, old_key: str, new_key: str) -> Rotation:
    """Re-encrypt every sealed column (in the caller's transaction). Anything that does not open
    with `old_key` stops the rotation with a PostWizardError before anything is committed."""
    counts = {
        column.label: await reencrypt_column(session, column, old_key, new_key)
        for column in SEALED_COLUMNS
    }
    return Rotation(counts)


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
