"""Calls to the X API v2 as one account, and the one place their transport failures are judged:
a connection never made is worth a plain retry; an answer lost after a create was sent means
the post may exist (reconcile first)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from postwizard.platforms.protocol import (
    AuthExpiredError,
    TransientError,
    UnknownOutcomeError,
)
from postwizard.platforms.x.errors import classify

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


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
        try:
            response = await self.client.request(
                method,
                self.api_url + path,
                params=params,
                json=json,
                data=data,
                files=files,
                headers={"Authorization": f"Bearer {self._token}"},
            )
        except _NOT_SENT as error:
            raise TransientError(
                f"X could not be reached while {what} ({type(error).__name__})."
            ) from error
        except httpx.TransportError as error:
            if creates_post:
                raise UnknownOutcomeError(
                    f"X gave no answer after PostWizard sent the post ({type(error).__name__}); "
                    "it may or may not have been published."
                ) from error
            raise TransientError(
                f"X gave no answer while {what} ({type(error).__name__})."
            ) from error
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
