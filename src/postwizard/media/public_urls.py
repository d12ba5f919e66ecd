"""Signed, expiring public URLs of stored media, for networks that fetch media themselves
(Instagram, Threads).

`{public URL}/media/public/<token>` serves one stored file to anyone holding the token, without
signing in, until the token expires (an hour by default). The token is the storage key, the
media type and the expiry time, with an HMAC-SHA256 over them keyed by a key derived from the
instance secret for this purpose only (HKDF, as `accounts.credentials.derived_fernet` does): it
cannot be forged or stretched, and it opens exactly one file. Nothing is stored; rotating the
instance secret invalidates every link.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from postwizard.media.storage import VALID_KEY

PUBLIC_MEDIA_PATH = "/media/public"
DEFAULT_LIFETIME = timedelta(hours=1)
_PURPOSE = b"postwizard/public-media-urls/v1"


class InvalidMediaLinkError(Exception):
    """The token was not made by this instance, or was altered."""


class ExpiredMediaLinkError(Exception):
    """The token is genuine but its time is over."""


@dataclass(frozen=True)
class SignedMedia:
    """What a valid token opens."""

    storage_key: str
    mime_type: str
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


class PublicMediaUrls:
    """Makes and opens the signed URLs of one instance (`secret_key`) reachable at `base_url`."""

    def __init__(
        self,
        secret_key: str,
        base_url: str,
        *,
        lifetime: timedelta = DEFAULT_LIFETIME,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
            secret_key.encode()
        )
        self.base_url = base_url.rstrip("/")
        self.lifetime = lifetime
        self.clock = clock

    def url_for(self, storage_key: str, mime_type: str) -> str:
        """The public URL of the stored file `storage_key`, valid for `lifetime` from now."""
        return f"{self.base_url}{PUBLIC_MEDIA_PATH}/{self.token_for(storage_key, mime_type)}"

    def token_for(self, storage_key: str, mime_type: str) -> str:
        expires = int((self.clock() + self.lifetime).timestamp())
        payload = f"{expires}\n{mime_type}\n{storage_key}".encode()
        return f"{_encode(payload)}.{_encode(self._sign(payload))}"

    def open(self, token: str) -> SignedMedia:
        """The file `token` opens. `InvalidMediaLinkError` for a token this instance did not
        sign (or that names no storage key), `ExpiredMediaLinkError` for one whose time is
        over: the signature is checked first, so expiry is never told about a forged token."""
        encoded_payload, _, encoded_signature = token.partition(".")
        try:
            payload = _decode(encoded_payload)
            signature = _decode(encoded_signature)
        except (binascii.Error, ValueError) as error:
            raise InvalidMediaLinkError from error
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise InvalidMediaLinkError
        try:
            expires, mime_type, storage_key = payload.decode().split("\n")
            expires_at = datetime.fromtimestamp(int(expires), UTC)
        except ValueError as error:
            raise InvalidMediaLinkError from error
        if not VALID_KEY.fullmatch(storage_key):
            raise InvalidMediaLinkError
        if self.clock() >= expires_at:
            raise ExpiredMediaLinkError
        return SignedMedia(storage_key=storage_key, mime_type=mime_type, expires_at=expires_at)

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, sha256).digest()


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    if not text:
        raise ValueError("empty")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
