"""Media that Meta fetches by URL (Instagram; Threads works the same way).

Instagram does not take uploads through the Graph API: it downloads each image or video from a
URL it is given. PostWizard hands it the signed, expiring `MediaItem.public_url` under its own
public address. An instance that answers only on localhost or a private network cannot be
reached from Meta's servers; that is detected here, before anything is created, and explained,
instead of surfacing later as Instagram's "media could not be fetched".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import httpx

from postwizard.platforms.protocol import MediaItem, PermanentError

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def is_publicly_reachable(url: str) -> bool:
    """Whether `url` could be fetched from the internet: http(s), and a host that is neither a
    loopback, private, link-local or reserved address nor a local-only name."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return False
    host = (parsed.host or "").lower().rstrip(".")
    if parsed.scheme not in ("http", "https") or not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host and host not in _LOCAL_NAMES and not host.endswith(_LOCAL_SUFFIXES)
    return address.is_global


def public_media_urls(
    media: Sequence[MediaItem], *, network: str, allow_private: bool = False
) -> list[str]:
    """The public URL of each item, or a `PermanentError` that tells the person what to set.
    `allow_private` accepts loopback and private addresses (tests, a network on the same LAN)."""
    urls = []
    for number, item in enumerate(media, start=1):
        url = item.public_url
        if not url or not (allow_private or is_publicly_reachable(url)):
            where = f" ({httpx.URL(url).host})" if url else ""
            raise PermanentError(
                f"{network} fetches media from PostWizard's public address, which it cannot "
                f"reach{where} for {item.filename or f'attachment {number}'}. Set "
                "POSTWIZARD_PUBLIC_URL to an address reachable from the internet (a domain "
                "name pointing at this server, or a tunnel), then retry."
            )
        urls.append(url)
    return urls
