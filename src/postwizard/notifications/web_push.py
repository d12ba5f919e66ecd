"""Web Push (RFC 8030/8291/8292): the instance's VAPID key, checking a browser's subscription,
and sending one encrypted push.

The payload is encrypted with `pywebpush` (aes128gcm, RFC 8188) and signed with `py_vapid`
(an ES256 JWT whose `aud` is the push service's origin); the request itself goes through
PostWizard's SSRF-guarded HTTP client, because the endpoint URL is one a browser gave."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPusher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts.credentials import derived_fernet
from postwizard.config import Settings
from postwizard.errors import PostWizardError
from postwizard.net.ssrf import TargetPolicy, check_url
from postwizard.notifications import repository
from postwizard.notifications.models import InstanceKey

VAPID_KEY_NAME = "vapid"
_VAPID_PURPOSE = b"postwizard/vapid-private-key/v1"
# How long a push service keeps a push for a browser that is offline.
PUSH_TTL_S = 24 * 3600
JWT_LIFETIME_S = 12 * 3600
P256_POINT_BYTES = 65
AUTH_SECRET_BYTES = 16


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Base64url with or without padding (browsers send it without); raises ValueError."""
    cleaned = text.strip()
    try:
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"not base64url: {error}") from None


# The VAPID key pair


def seal_private_key(secret_key: str, private_key: str) -> bytes:
    return derived_fernet(secret_key, _VAPID_PURPOSE).encrypt(private_key.encode())


def open_private_key(secret_key: str, blob: bytes) -> str:
    return derived_fernet(secret_key, _VAPID_PURPOSE).decrypt(blob).decode()


@dataclass(frozen=True)
class VapidKeys:
    public_key: str  # the uncompressed P-256 point, base64url: the applicationServerKey
    private_key: str  # the 32-byte scalar, base64url

    def signer(self) -> Vapid02:
        return Vapid02.from_raw(self.private_key.encode())


def _new_keys() -> VapidKeys:
    key = ec.generate_private_key(ec.SECP256R1())
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return VapidKeys(public_key=b64url(point), private_key=b64url(scalar))


async def vapid_keys(session: AsyncSession, secret_key: str) -> VapidKeys:
    """The instance's VAPID key pair, generated on first use (the first process to store one
    wins; the others read it back)."""
    stored = await session.get(InstanceKey, VAPID_KEY_NAME)
    if stored is None:
        fresh = _new_keys()
        await repository.insert_instance_key(
            session,
            VAPID_KEY_NAME,
            fresh.public_key,
            seal_private_key(secret_key, fresh.private_key),
        )
        stored = await session.scalar(
            select(InstanceKey)
            .where(InstanceKey.name == VAPID_KEY_NAME)
            .execution_options(populate_existing=True)
        )
        assert stored is not None
    return VapidKeys(stored.public_key, open_private_key(secret_key, stored.private_key_encrypted))


def vapid_subject(settings: Settings) -> str:
    """The `sub` claim: the configured contact, else the SMTP sender, else the https public
    URL, else a placeholder push services accept."""
    if settings.web_push_contact:
        return settings.web_push_contact
    sender = settings.smtp_from
    if "<" in sender:
        sender = sender.split("<", 1)[1].split(">", 1)[0]
    if "@" in sender:
        return f"mailto:{sender.strip()}"
    public = urlsplit(settings.effective_public_url)
    if public.scheme == "https" and public.hostname:
        return f"https://{public.netloc}"
    return "mailto:postwizard@localhost"


# Checking a subscription


def _refusal(field: str, message: str) -> PostWizardError:
    return PostWizardError(
        message,
        code="invalid_subscription",
        status_code=422,
        fields=[{"field": field, "message": message}],
    )


def _explicitly_allowed(host: str, policy: TargetPolicy) -> bool:
    """Plain http only to a host the administrator allowed (a local push service for tests)."""
    if policy.allow_private or host in policy.hosts:
        return True
    try:
        return policy.permits(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return False


async def check_subscription(
    endpoint: str, p256dh: str, auth: str, settings: Settings
) -> tuple[str, str, str]:
    """The subscription's endpoint and keys, normalised; 422 naming the field when one is not
    what a browser gives (an https push-service URL, a P-256 point, a 16-byte secret) or when
    the endpoint leads into a private network the settings do not allow."""
    parts = urlsplit(endpoint)
    policy = TargetPolicy.from_settings(settings)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _refusal("endpoint", "The endpoint must be the push service's https URL.")
    if parts.scheme == "http" and not _explicitly_allowed(parts.hostname.lower(), policy):
        raise _refusal(
            "endpoint", "The endpoint must be an https URL (every browser's push service is)."
        )
    try:
        point = b64url_decode(p256dh)
        if len(point) != P256_POINT_BYTES:
            raise ValueError(f"{len(point)} bytes, a P-256 public key has {P256_POINT_BYTES}")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as error:
        raise _refusal(
            "keys.p256dh", f"keys.p256dh is not the browser's P-256 public key ({error})."
        ) from None
    try:
        secret = b64url_decode(auth)
    except ValueError as error:
        raise _refusal("keys.auth", f"keys.auth is not base64url ({error}).") from None
    if len(secret) != AUTH_SECRET_BYTES:
        raise _refusal(
            "keys.auth", f"keys.auth must be {AUTH_SECRET_BYTES} bytes, it is {len(secret)}."
        )
    await check_url(endpoint, policy, lambda message: _refusal("endpoint", message))
    return endpoint, b64url(point), b64url(secret)


# Sending


@dataclass(frozen=True)
class PushRequest:
    url: str
    headers: dict[str, str]
    body: bytes


def push_request(
    keys: VapidKeys, subject: str, endpoint: str, p256dh: str, auth: str, payload: dict[str, Any]
) -> PushRequest:
    """The encrypted, VAPID-signed POST that delivers `payload` to one subscription."""
    pusher = WebPusher({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}})
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    encrypted = pusher.encode(data, "aes128gcm")
    origin = urlsplit(endpoint)
    claims: dict[str, str | int] = {
        "aud": f"{origin.scheme}://{origin.netloc}",
        "sub": subject,
        "exp": int(time.time()) + JWT_LIFETIME_S,
    }
    headers = {str(k): str(v) for k, v in keys.signer().sign(claims).items()}
    headers.update(
        {
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(PUSH_TTL_S),
            "Urgency": "normal",
        }
    )
    return PushRequest(endpoint, headers, bytes(encrypted["body"]))


# The push service's answers that mean the subscription is gone for good (RFC 8030 §7.3).
GONE_STATUSES = frozenset({404, 410})


async def send_push(client: httpx.AsyncClient, request: PushRequest) -> httpx.Response:
    return await client.post(request.url, content=request.body, headers=request.headers)
