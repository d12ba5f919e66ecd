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


def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


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
