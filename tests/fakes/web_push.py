"""A fake Web Push service (what Mozilla autopush or Google FCM are to browsers), and a browser's
side of a subscription.

The service checks each push the way a real one does: the `Authorization: vapid t=<JWT>,k=<key>`
header must carry an ES256 JWT signed by the application server key the browser subscribed
with, for this service's origin, not expired, with a contact `sub`. The browser side then
decrypts the aes128gcm body with its own private key and auth secret (`http_ece`), as a browser
would, so a test sees exactly what a person's browser would show."""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """One browser's subscription: its ECDH key pair and auth secret, as PushManager makes them."""

    name: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm"
        )
        decoded: dict[str, Any] = json.loads(plain)
        return decoded


@dataclass
class Push:
    browser: str
    payload: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakePushService:
    """Accepts pushes at `/push/<browser name>` for the browsers it knows; answers each browser
    with its scripted statuses in turn (the last repeats; default 201)."""

    application_server_key: str  # what the browsers subscribed with (base64url P-256 point)
    browsers: dict[str, Browser] = field(default_factory=dict)
    statuses: dict[str, list[int]] = field(default_factory=dict)
    received: list[Push] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    origin: str = ""

    def add(self, browser: Browser, statuses: list[int] | None = None) -> str:
        """Register a browser; returns its endpoint URL (set `origin` first)."""
        self.browsers[browser.name] = browser
        self.statuses[browser.name] = statuses or [201]
        return f"{self.origin}/push/{browser.name}"

    def _check_vapid(self, request: Request) -> str | None:
        """Why the VAPID header is not acceptable, None when it is."""
        header = request.headers.get("authorization", "")
        scheme, _, params = header.partition(" ")
        if scheme.lower() != "vapid":
            return f"not a vapid authorization: {header!r}"
        parts = dict(item.strip().split("=", 1) for item in params.split(","))
        if parts.get("k") != self.application_server_key:
            return "k is not the application server key the browser subscribed with"
        public = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b64url_decode(parts["k"])
        )
        try:
            claims = jwt.decode(
                parts["t"],
                public,
                algorithms=["ES256"],
                audience=self.origin,
                options={"require": ["aud", "exp", "sub"]},
            )
        except jwt.PyJWTError as error:
            return f"JWT rejected: {error}"
        if claims["exp"] <= time.time():
            return "JWT expired"
        if not str(claims["sub"]).startswith(("mailto:", "https://")):
            return f"sub is not a contact: {claims['sub']!r}"
        return None

    async def push(self, request: Request) -> Response:
        name = request.path_params["name"]
        browser = self.browsers.get(name)
        if browser is None:
            return Response(status_code=404)
        problem = self._check_vapid(request)
        if problem is None and request.headers.get("content-encoding") != "aes128gcm":
            problem = f"content-encoding {request.headers.get('content-encoding')!r}"
        if problem is None and not request.headers.get("ttl"):
            problem = "no TTL header"
        if problem is not None:
            self.refused.append(problem)
            return Response(problem, status_code=401)
        self.calls[name] = self.calls.get(name, 0) + 1
        scripted = self.statuses[name]
        status = scripted[min(self.calls[name], len(scripted)) - 1]
        if status < 300:
            payload = browser.decrypt(await request.body())
            self.received.append(Push(name, payload, dict(request.headers)))
        return Response(status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/push/{name}", self.push, methods=["POST"])])
