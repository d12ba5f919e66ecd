"""A network adapter that hands every call to a real one (the sandbox adapter): tests subclass
it and override the call they want to watch, hold back or break."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from postwizard.platforms.protocol import (
    AccountRef,
    AccountStats,
    ConnectedAccount,
    PostMetrics,
    Published,
    PublishRequest,
)
from postwizard.platforms.sandbox import SandboxPlatform


class WrappedPlatform:
    def __init__(self, inner: Any, *, provides_metrics: bool | None = None) -> None:
        self.inner: SandboxPlatform = inner
        self.network = inner.network
        self.provides_metrics = (
            inner.provides_metrics if provides_metrics is None else provides_metrics
        )
        self.connect_fields = inner.connect_fields

    async def connect(self, form: Mapping[str, str]) -> ConnectedAccount:
        return await self.inner.connect(form)

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        return await self.inner.publish(account, request)

    async def reconcile(self, account: AccountRef, request: PublishRequest) -> Published | None:
        return await self.inner.reconcile(account, request)

    async def fetch_post_metrics(
        self, account: AccountRef, remote_ids: Sequence[str]
    ) -> list[PostMetrics]:
        return await self.inner.fetch_post_metrics(account, remote_ids)

    async def fetch_account_stats(self, account: AccountRef) -> AccountStats:
        return await self.inner.fetch_account_stats(account)

    async def aclose(self) -> None:
        """The wrapped adapter belongs to the app, which closes it."""
