"""A fake Google OAuth2 token endpoint and FCM HTTP v1 API, and a service-account file for them.

The token endpoint accepts only a JWT-bearer assertion signed with the service account's key
(checked against its public key) for the FCM scope, issued by the account's email and meant
for this endpoint; FCM accepts only the access tokens it issued, and answers a registration
token the test marked gone as FCM does: 404 UNREGISTERED, or 400 INVALID_ARGUMENT naming
`message.token`."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
PROJECT = "postwizard-test"
CLIENT_EMAIL = "pw-push@postwizard-test.iam.gserviceaccount.com"


@dataclass
class FakeFcm:
    origin: str = ""
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    key_id: str = "key-1"
    unregistered: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)
    issued: set[str] = field(default_factory=set)
    token_requests: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    @property
    def token_uri(self) -> str:
        return f"{self.origin}/token"

    def write_service_account(self, path: Path) -> Path:
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": PROJECT,
                    "private_key_id": self.key_id,
                    "private_key": pem,
                    "client_email": CLIENT_EMAIL,
                    "client_id": "1234",
                    "token_uri": self.token_uri,
                }
            )
        )
        return path

    def _refuse(self, status: int, problem: str) -> JSONResponse:
        self.refused.append(problem)
        return JSONResponse({"error": "invalid_grant", "error_description": problem}, status)

    async def token(self, request: Request) -> JSONResponse:
        self.token_requests += 1
        form = await request.form()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self._refuse(400, f"grant_type {form.get('grant_type')!r}")
        assertion = str(form.get("assertion", ""))
        if jwt.get_unverified_header(assertion).get("kid") != self.key_id:
            return self._refuse(400, "unknown key id")
        try:
            claims = jwt.decode(
                assertion,
                self.key.public_key(),
                algorithms=["RS256"],
                audience=self.token_uri,
                issuer=CLIENT_EMAIL,
                options={"require": ["iat", "exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            return self._refuse(400, f"assertion rejected: {error}")
        if claims.get("scope") != SCOPE or claims["exp"] - claims["iat"] > 3600:
            return self._refuse(400, f"bad scope or lifetime: {claims}")
        access = "ya29." + secrets.token_urlsafe(16)
        self.issued.add(access)
        return JSONResponse({"access_token": access, "expires_in": 3599, "token_type": "Bearer"})

    @staticmethod
    def _error(status: int, state: str, message: str, *details: dict[str, Any]) -> JSONResponse:
        return JSONResponse(
            {
                "error": {
                    "code": status,
                    "message": message,
                    "status": state,
                    "details": list(details),
                }
            },
            status,
        )

    async def send(self, request: Request) -> JSONResponse:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.issued:
            self.refused.append("unknown bearer token")
            return self._error(401, "UNAUTHENTICATED", "Request had invalid credentials.")
        if request.path_params["project"] != PROJECT:
            return self._error(403, "PERMISSION_DENIED", "wrong project")
        body = await request.json()
        message = body.get("message", {})
        token = message.get("token")
        shape_ok = (
            set(body) == {"message"}
            and isinstance(token, str)
            and set(message["notification"]) == {"title", "body"}
            and all(isinstance(v, str) for v in message["data"].values())
        )
        if not shape_ok:
            self.refused.append(f"bad message shape: {body}")
            return self._error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        fcm_error = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
        if token in self.unregistered:
            return self._error(
                404,
                "NOT_FOUND",
                "Requested entity was not found.",
                {"@type": fcm_error, "errorCode": "UNREGISTERED"},
            )
        if token in self.invalid:
            return self._error(
                400,
                "INVALID_ARGUMENT",
                "The registration token is not a valid FCM registration token",
                {"@type": fcm_error, "errorCode": "INVALID_ARGUMENT"},
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [
                        {"field": "message.token", "description": "Invalid registration token"}
                    ],
                },
            )
        self.messages.append(message)
        return JSONResponse({"name": f"projects/{PROJECT}/messages/{int(time.time() * 1000)}"})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/token", self.token, methods=["POST"]),
                Route("/v1/projects/{project}/messages:send", self.send, methods=["POST"]),
            ]
        )
