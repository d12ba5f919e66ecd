"""Calls to the X API v2 as one account, and the one place their transport failures are judged:
a connection never made is worth a plain retry; an answer lost after a create was sent means
the post may exist (reconcile first)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from postwizard.platforms.http_calls import send
from postwizard.platforms.protocol import (
    AuthExpiredError,
    TransientError,
)
from postwizard.platforms.x.errors import classify


class XApi:
    """The X API at `api_url` as the account whose stored `credentials` are given."""

    def __init__(
        self, client: httpx.AsyncClient, api_url: str, credentials: Mapping[str, str]
    ) -> None:
        token = credentials.get("access_token", "")
        if not token:
            raise AuthExpiredError("The X account has no stored access token; reconnect it.")
        self.client = client
        self.api_url = api_url
        self.credentials = credentials
        self._token = token

    async def call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        scope: str,
        creates_post: bool = False,
        params: Any = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
    ) -> httpx.Response:
        """One request; its 2xx answer or the `PlatformError` its failure means. `scope` is the
        OAuth scope the endpoint needs (named when X refuses for the lack of it)."""
        response = await send(
            self.client,
            method,
            self.api_url + path,
            network="X",
            what=what,
            creates_post=creates_post,
            params=params,
            json=json,
            data=data,
            files=files,
            headers={"Authorization": f"Bearer {self._token}"},
        )
        if response.status_code >= 400:
            raise classify(
                response,
                what=what,
                scope=scope,
                credentials=self.credentials,
                creates_post=creates_post,
            )
        return response

    async def data(self, method: str, path: str, *, what: str, scope: str, **kwargs: Any) -> Any:
        """The `data` member of a 2xx JSON answer (None when absent)."""
        response = await self.call(method, path, what=what, scope=scope, **kwargs)
        return envelope(response, what=what).get("data")


def envelope(response: httpx.Response, *, what: str) -> dict[str, Any]:
    """The JSON object of a 2xx answer, or a `TransientError` (a proxy's page, not X)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise TransientError(
            f"X answered with unexpected data while {what}.", http_status=response.status_code
        )
    return body
