"""The webhook signature: `PostWizard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
`"<t>.<raw body>"` with the endpoint's secret (the scheme Stripe made familiar; the timestamp
lets a receiver refuse replays)."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "PostWizard-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"
