"""What the network adapter contract tests (tests/test_*_adapter.py) share: a delivery's
content, files of known bytes, the account as the engine hands it over, and the person's
browser on a fake network's OAuth authorize page."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import AccountRef, ConnectedAccount, MediaItem, PublishRequest


def request(
    text: str,
    *,
    marker: str = "delivery-1",
    media: Sequence[MediaItem] = (),
    options: Mapping[str, object] | None = None,
    reply_to: str | None = None,
    first_attempt_at: datetime | None = None,
) -> PublishRequest:
    """A delivery's content, its first attempt starting now unless told otherwise."""
    return PublishRequest(
        marker=marker,
        text=text,
        media=media,
        options=options or {},
        reply_to=reply_to,
        first_attempt_at=first_attempt_at or datetime.now(UTC),
    )


def engine_account(connected: ConnectedAccount, network: Network) -> AccountRef:
    """The account as the engine hands it to the adapter: decrypted credentials, stored options."""
    return AccountRef(
        id=uuid.uuid4(),
        network=network,
        handle=connected.handle,
        credentials=dict(connected.credentials),
        options=dict(connected.options),
    )


def write_file(path: Path, size: int, seed: bytes = b"x") -> Path:
    """`size` repeatable bytes derived from `seed`."""
    block = hashlib.sha256(seed).digest() * 32  # 1 KiB of repeatable bytes
    with path.open("wb") as file:
        for _ in range(size // len(block)):
            file.write(block)
        file.write(block[: size % len(block)])
    return path


def sha256_of(file: MediaItem | Path) -> str:
    path = file.path if isinstance(file, MediaItem) else file
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def redirect_query(authorize_url: str, redirect_uri: str) -> dict[str, list[str]]:
    """What the person's browser does: open the authorize page, approve, follow the redirect
    back to `redirect_uri`. The query of that redirect."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(authorize_url)
    assert answer.status_code == 302, answer.text
    location: str = answer.headers["location"]
    assert location.startswith(redirect_uri + "?"), location
    return parse_qs(urlsplit(location).query)


async def authorize_in_browser(authorize_url: str, redirect_uri: str) -> tuple[str, str]:
    """The `code` and `state` the browser brings back to `redirect_uri` once the person approved."""
    query = await redirect_query(authorize_url, redirect_uri)
    return query["code"][0], query["state"][0]
