"""What the network adapters do the same way around one HTTP request: the client they share
with the dispatcher's concurrency, and how a request that got no answer is judged.

A connection never made is worth a plain retry (`TransientError`); an answer lost after a
create was sent means the post may exist (`UnknownOutcomeError`: reconcile first)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from postwizard.net.connection_pools import PooledTransport
from postwizard.platforms.protocol import TransientError, UnknownOutcomeError

NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport failures before the request left: the network cannot have seen it."""


def new_client(client: httpx.AsyncClient | None, timeout: float) -> httpx.AsyncClient:
    """`client`, or a new one keeping as many connections alive as the dispatcher makes calls
    at once (httpx keeps 20), in small pools (see `PooledTransport`)."""
    return client or httpx.AsyncClient(timeout=timeout, transport=PooledTransport())


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    network: str,
    what: str,
    creates_post: bool = False,
    params: Any = None,
    json: Any = None,
    data: Mapping[str, Any] | None = None,
    files: Any = None,
    content: Any = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """One request, answered with any status; a failure to get an answer as the `PlatformError`
    it means. `network` names the other side in messages ("Threads", "mastodon.social"), `what`
    says in a few words what was being done ("reading the post's numbers"). With `creates_post`,
    an answer lost after sending is an `UnknownOutcomeError`."""
    try:
        return await client.request(
            method,
            url,
            params=params,
            json=json,
            data=data,
            files=files,
            content=content,
            headers=headers,
        )
    except NOT_SENT as error:
        raise TransientError(
            f"{network} could not be reached while {what} ({type(error).__name__})."
        ) from error
    except httpx.TransportError as error:
        if creates_post:
            raise UnknownOutcomeError(
                f"{network} gave no answer after PostWizard sent the post "
                f"({type(error).__name__}); it may or may not have been published."
            ) from error
        raise TransientError(
            f"{network} gave no answer while {what} ({type(error).__name__})."
        ) from error
