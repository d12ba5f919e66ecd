"""Network credentials encrypted at rest with a key derived from the instance secret (Fernet:
AES-128-CBC + HMAC-SHA256, authenticated, so tampering is detected)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from postwizard.errors import PostWizardError

# A separate key per purpose: the secret also serves other uses, never directly as this key.
_INFO = b"postwizard/account-credentials/v1"


def derived_fernet(secret_key: str, purpose: bytes) -> Fernet:
    """A Fernet keyed for one `purpose` only (HKDF of the instance secret), so a token made for
    one use can never be opened as another."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _fernet(secret_key: str) -> Fernet:
    return derived_fernet(secret_key, _INFO)


def encrypt_credentials(secret_key: str, credentials: Mapping[str, str]) -> bytes:
    return _fernet(secret_key).encrypt(json.dumps(dict(credentials)).encode())


def decrypt_credentials(secret_key: str, blob: bytes | None) -> dict[str, str]:
    if not blob:
        return {}
    try:
        data: dict[str, str] = json.loads(_fernet(secret_key).decrypt(blob))
    except InvalidToken:
        raise PostWizardError(
            "Stored credentials cannot be decrypted with this instance's secret key; "
            "was POSTWIZARD_SECRET_KEY changed? Restore it, or reconnect the account.",
            code="credentials_unreadable",
            status_code=500,
        ) from None
    return data


def merge_credentials(stored: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    """`new` over `stored`, except that an empty value never replaces a stored one.

    Networks often answer a refresh or a reconnect without repeating every secret (no new
    refresh token, say); dropping the stored one would make the next refresh impossible, a
    bug other schedulers shipped. Used by reconnecting and by token refresh alike."""
    merged = dict(stored)
    merged.update({key: value for key, value in new.items() if value})
    return merged
