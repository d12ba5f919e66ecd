"""What the Facebook Pages and Instagram adapters share: PostWizard's Meta app, the Graph API
client, Facebook Login, and a few helpers for reading Graph answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from postwizard.platforms.http_calls import new_client
from postwizard.platforms.meta.graph import (
    DEFAULT_FACEBOOK_URL,
    DEFAULT_GRAPH_API_VERSION,
    DEFAULT_GRAPH_URL,
    GraphApi,
)
from postwizard.platforms.meta.login import FacebookLogin
from postwizard.platforms.protocol import (
    AccountRef,
    AuthExpiredError,
    ConnectError,
    ConnectField,
    OAuthStart,
    PublishRequest,
    UnknownOutcomeError,
)

DEFAULT_TIMEOUT_S = 20.0  # below the dispatcher's 30 s call budget
CLOCK_SKEW = timedelta(minutes=5)
"""How far Meta's clock may be from ours when reading posts back since the first attempt."""
RECONCILE_MAX_PAGES = 20


class MetaPlatformBase:
    """Constructor, Graph client and Facebook Login of a Meta network adapter. Subclasses set
    `network_name` and `scopes`."""

    network_name = "Meta"
    scopes: Sequence[str] = ()
    provides_metrics = True
    connect_fields: Sequence[ConnectField] = ()

    def __init__(
        self,
        *,
        app_id: str,
        app_secret: str,
        graph_api_version: str = DEFAULT_GRAPH_API_VERSION,
        graph_url: str = DEFAULT_GRAPH_URL,
        facebook_url: str = DEFAULT_FACEBOOK_URL,
        client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        reconcile_max_pages: int = RECONCILE_MAX_PAGES,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.graph_api_version = graph_api_version
        self._owns_client = client is None
        self._client = new_client(client, timeout)
        self.api = GraphApi(
            self._client,
            graph_url=graph_url,
            version=graph_api_version,
            app_secret=app_secret,
            network=self.network_name,
        )
        self.login = FacebookLogin(
            self.api,
            facebook_url=facebook_url,
            version=graph_api_version,
            app_id=app_id,
            app_secret=app_secret,
            scopes=self.scopes,
        )
        self.reconcile_max_pages = reconcile_max_pages

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def start_oauth(
        self, form: Mapping[str, str], redirect_uri: str, state: str
    ) -> OAuthStart:
        """Where to send the person to sign in with Facebook; nothing to keep for the callback
        (the app's id and secret are PostWizard's settings)."""
        if not self.app_id or not self.app_secret:
            raise ConnectError(
                f"{self.network_name} needs PostWizard's Meta app: set POSTWIZARD_META_APP_ID "
                "and POSTWIZARD_META_APP_SECRET (see docs/networks.md)."
            )
        return OAuthStart(authorize_url=self.login.authorize_url(redirect_uri, state))

    async def _find_posted(
        self,
        path: str,
        request: PublishRequest,
        *,
        token: str,
        fields: str,
        what: str,
        is_it: Callable[[Mapping[str, Any]], bool],
        posted_by: str,
        permission: str | None = None,
    ) -> dict[str, Any] | None:
        """The oldest item of the edge `path` (newest first) since the request's first attempt
        for which `is_it`; None when every item since was read and none is;
        `UnknownOutcomeError` when there are more than `reconcile_max_pages` pages to read.
        `posted_by` names who posted them in that error ("the Page")."""
        params: dict[str, Any] = {"fields": fields, "limit": 100}
        since = since_timestamp(request.first_attempt_at)
        if since is not None:
            params["since"] = since
        matches: list[dict[str, Any]] = []
        async for page in self.api.iterate(
            path,
            token=token,
            params=params,
            what=what,
            permission=permission,
            max_pages=self.reconcile_max_pages,
        ):
            matches += [item for item in page.items if is_it(item)]
            if not page.has_more:
                # Newest first: the last match is the oldest, the one a duplicate would follow.
                return matches[-1] if matches else None
        if matches:
            return matches[-1]
        raise UnknownOutcomeError(
            f"Could not tell whether the {self.network_name} post was published: {posted_by} "
            "has too many posts since the first attempt to read them all."
        )

    def _access(self, account: AccountRef, id_key: str) -> tuple[str, str]:
        """The account's node id (from its options, else credentials) and its token."""
        node_id = str(account.options.get(id_key) or account.credentials.get(id_key) or "")
        token = account.credentials.get("access_token", "")
        if not node_id or not token:
            raise AuthExpiredError(
                f"The {self.network_name} account {account.handle} has no stored access; "
                "reconnect it."
            )
        return node_id, token


def since_timestamp(first_attempt_at: datetime | None) -> int | None:
    """The Unix time to read posts back from: the first attempt, less the clock margin."""
    if first_attempt_at is None:
        return None
    return int((first_attempt_at - CLOCK_SKEW).timestamp())


def count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def summary_count(node: Mapping[str, Any], edge: str) -> int | None:
    """`total_count` of an edge's summary (`reactions.summary(total_count)`)."""
    value = node.get(edge)
    summary = value.get("summary") if isinstance(value, dict) else None
    return count(summary.get("total_count")) if isinstance(summary, dict) else None


def insight_values(body: Mapping[str, Any]) -> dict[str, Any]:
    """`{metric name: value}` of an insights answer: `values[0].value` (period "lifetime") or
    `total_value.value` (the newer metric_type=total_value shape)."""
    found: dict[str, Any] = {}
    data = body.get("data")
    for metric in data if isinstance(data, list) else []:
        if not isinstance(metric, dict) or not metric.get("name"):
            continue
        total = metric.get("total_value")
        values = metric.get("values")
        if isinstance(total, dict) and "value" in total:
            found[str(metric["name"])] = total["value"]
        elif isinstance(values, list) and values and isinstance(values[-1], dict):
            found[str(metric["name"])] = values[-1].get("value")
    return found


def comparable(text: str) -> str:
    """Text as Meta gives it back: line ends normalised, outer white space dropped."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def parse_time(value: object) -> datetime | None:
    """A Graph API time ("2025-01-02T03:04:05+0000")."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
