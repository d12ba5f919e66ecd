"""Calls to Meta's Graph API (`graph.facebook.com/<version>/...`), shared by the Facebook Pages
and Instagram adapters.

The access token travels in the `Authorization` header, never in a URL (URLs end up in logs),
with `appsecret_proof` (HMAC-SHA256 of the token keyed with the app secret) on every call: Meta
recommends it for server-side calls, and apps with "Require App Secret" refuse calls without it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from postwizard.platforms.http_calls import send
from postwizard.platforms.meta.errors import raise_for_graph_error
from postwizard.platforms.protocol import TransientError, UnknownOutcomeError

DEFAULT_GRAPH_URL = "https://graph.facebook.com"
DEFAULT_FACEBOOK_URL = "https://www.facebook.com"
DEFAULT_GRAPH_API_VERSION = "v23.0"


def appsecret_proof(access_token: str, app_secret: str) -> str:
    """The `appsecret_proof` of `access_token`: proves the call comes from the app's server."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class GraphPage:
    """One page of a paged edge; `has_more` when Meta offers a next page."""

    items: list[dict[str, Any]]
    has_more: bool


class GraphApi:
    """One version of the Graph API, called as PostWizard's Meta app. `network` names the
    network in messages ("Facebook" or "Instagram")."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        graph_url: str,
        version: str,
        app_secret: str,
        network: str,
    ) -> None:
        self.client = client
        self.base_url = f"{graph_url.rstrip('/')}/{version.strip('/')}"
        self.app_secret = app_secret
        self.network = network

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        what: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        creates_post: bool = False,
        permission: str | None = None,
    ) -> dict[str, Any]:
        """One request (`path` relative to the version, e.g. "/me/accounts"); the JSON object it
        answered, or the `PlatformError` its failure means. With `creates_post`, an answer lost
        after sending is an `UnknownOutcomeError`: the post may exist."""
        query = dict(params or {})
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
            if self.app_secret:
                query["appsecret_proof"] = appsecret_proof(token, self.app_secret)
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        response = await send(
            self.client,
            method,
            url,
            network=self.network,
            what=what,
            creates_post=creates_post,
            params=query,
            data=data,
            files=files,
            headers=headers,
        )
        raise_for_graph_error(
            response,
            network=self.network,
            what=what,
            creates_post=creates_post,
            permission=permission,
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            error_type = UnknownOutcomeError if creates_post else TransientError
            raise error_type(
                f"{self.network} answered with unexpected data while {what}.",
                http_status=response.status_code,
            )
        return body

    async def pages_of(
        self,
        path: str,
        *,
        token: str,
        what: str,
        params: Mapping[str, Any] | None = None,
        permission: str | None = None,
        max_pages: int = 10,
    ) -> list[dict[str, Any]]:
        """Every item of a paged edge (`data` with `paging.next`), up to `max_pages` pages."""
        items: list[dict[str, Any]] = []
        async for page in self.iterate(
            path, token=token, what=what, params=params, permission=permission, max_pages=max_pages
        ):
            items += page.items
        return items

    async def iterate(
        self,
        path: str,
        *,
        token: str,
        what: str,
        params: Mapping[str, Any] | None = None,
        permission: str | None = None,
        max_pages: int = 10,
    ) -> AsyncIterator[GraphPage]:
        """The pages of a paged edge one by one; stops after
        `max_pages` pages or when there is no `paging.next`. Follows the cursor (`after`) with
        the original parameters rather than the `next` URL, which would carry a token."""
        query = dict(params or {})
        for _ in range(max_pages):
            body = await self.call(
                "GET", path, token=token, what=what, params=query, permission=permission
            )
            data = body.get("data")
            items = [i for i in data if isinstance(i, dict)] if isinstance(data, list) else []
            paging = body.get("paging")
            paging = paging if isinstance(paging, dict) else {}
            cursors = paging.get("cursors")
            after = cursors.get("after") if isinstance(cursors, dict) else None
            has_more = bool(paging.get("next") and after)
            yield GraphPage(items, has_more)
            if not has_more:
                return
            query["after"] = after
