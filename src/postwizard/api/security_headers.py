"""Security headers on every answer: a strict Content-Security-Policy for the web interface, no
MIME sniffing, no framing, no referrer to other sites, no powerful browser features, and HSTS
when PostWizard is reached over https.

The SPA's only inline script is SvelteKit's boot script; its SHA-256 is read from the built
`index.html` at start, so the policy allows exactly that script and the app's own files.
No CORS headers are ever sent: other origins cannot read the API (closed by default)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

DOCS_PREFIX = "/api/docs"
# Swagger UI (/api/docs) comes from a CDN with an inline start script: a policy of its own.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "magnetometer=(), gyroscope=(), accelerometer=(), browsing-topics=()"
)
HSTS = "max-age=31536000"


def inline_script_hashes(index_html: Path) -> list[str]:
    """`'sha256-…'` sources for each inline script of the built page (none when not built)."""
    try:
        text = index_html.read_text(encoding="utf-8")
    except OSError:
        return []
    hashes = []
    for body in _INLINE_SCRIPT.findall(text):
        digest = hashlib.sha256(body.encode("utf-8")).digest()
        hashes.append(f"'sha256-{base64.b64encode(digest).decode('ascii')}'")
    return hashes


def content_security_policy(script_hashes: list[str]) -> str:
    """The SPA's policy: its own scripts and the hashed boot script only. Inline styles are
    allowed (Svelte sets style attributes); images and videos may come from the networks
    (avatars, previews) over https."""
    scripts = " ".join(["'self'", *script_hashes])
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob: https:; media-src 'self' blob: https:; "
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    """Pure ASGI middleware adding the headers to every HTTP answer (streams included)."""

    def __init__(self, app: ASGIApp, *, index_html: Path, https: bool) -> None:
        self.app = app
        self.csp = content_security_policy(inline_script_hashes(index_html))
        self.common = {
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
            "Permissions-Policy": PERMISSIONS_POLICY,
            "Cross-Origin-Opener-Policy": "same-origin",
        }
        if https:
            self.common["Strict-Transport-Security"] = HSTS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = DOCS_CSP if path.startswith(DOCS_PREFIX) else self.csp

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.common.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", csp)
            await send(message)

        await self.app(scope, receive, with_headers)
