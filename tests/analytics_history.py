"""Synthetic published posts and metric snapshots, written straight to the database the way
publishing and collection leave them (for checking aggregates against hand-computed values)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI

from postwizard.analytics.models import AccountStatsSnapshot, PostMetricSnapshot
from postwizard.api.resources import resources_of
from postwizard.ids import uuid7
from postwizard.posts.models import Post, PostStatus
from postwizard.publishing.models import Delivery, DeliveryState


class History:
    """Adds rows in one session per call; ids are returned as strings like the API's."""

    def __init__(self, app: FastAPI, workspace_id: str) -> None:
        self.app = app
        self.workspace_id = uuid.UUID(workspace_id)

    async def post(
        self,
        text: str = "A post",
        labels: list[str] | None = None,
        campaign: str | None = None,
        workspace_id: str | None = None,
    ) -> str:
        post = Post(
            workspace_id=uuid.UUID(workspace_id) if workspace_id else self.workspace_id,
            status=PostStatus.PUBLISHED,
            text=text,
            labels=labels or [],
            campaign=campaign,
        )
        await self._add(post)
        return str(post.id)

    async def delivery(
        self,
        post_id: str,
        account_id: str,
        published_at: datetime,
        text: str = "A post",
        state: DeliveryState = DeliveryState.PUBLISHED,
        workspace_id: str | None = None,
    ) -> str:
        delivery = Delivery(
            workspace_id=uuid.UUID(workspace_id) if workspace_id else self.workspace_id,
            post_id=uuid.UUID(post_id),
            account_id=uuid.UUID(account_id),
            state=state,
            due_at=published_at,
            next_attempt_at=published_at,
            marker=uuid.uuid4().hex,
            text=text,
            remote_id=uuid.uuid4().hex if state == DeliveryState.PUBLISHED else None,
            published_at=published_at if state == DeliveryState.PUBLISHED else None,
        )
        await self._add(delivery)
        return str(delivery.id)

    async def snapshot(
        self, delivery_id: str, collected_at: datetime, **counts: int | None
    ) -> None:
        async with resources_of(self.app).session_factory() as session:
            delivery = await session.get(Delivery, uuid.UUID(delivery_id))
            assert delivery is not None
            session.add(
                PostMetricSnapshot(
                    workspace_id=delivery.workspace_id,
                    delivery_id=delivery.id,
                    account_id=delivery.account_id,
                    collected_at=collected_at,
                    **counts,
                )
            )
            await session.commit()

    async def followers(self, account_id: str, collected_at: datetime, followers: int) -> None:
        await self._add(
            AccountStatsSnapshot(
                workspace_id=self.workspace_id,
                account_id=uuid.UUID(account_id),
                collected_at=collected_at,
                followers=followers,
            )
        )

    async def published_many(self, account_id: str, items: list[tuple[datetime, int]]) -> None:
        """One post per (published_at, likes), each published on the account and measured once
        an hour later, all in one transaction."""
        account = uuid.UUID(account_id)
        posts, deliveries, snapshots = [], [], []
        for published_at, likes in items:
            post = Post(
                id=uuid7(),
                workspace_id=self.workspace_id,
                status=PostStatus.PUBLISHED,
                text="History",
            )
            delivery = Delivery(
                id=uuid7(),
                workspace_id=self.workspace_id,
                post_id=post.id,
                account_id=account,
                state=DeliveryState.PUBLISHED,
                due_at=published_at,
                next_attempt_at=published_at,
                marker=uuid.uuid4().hex,
                text="History",
                remote_id=uuid.uuid4().hex,
                published_at=published_at,
            )
            snapshot = PostMetricSnapshot(
                workspace_id=self.workspace_id,
                delivery_id=delivery.id,
                account_id=account,
                collected_at=published_at + timedelta(hours=1),
                likes=likes,
            )
            posts.append(post)
            deliveries.append(delivery)
            snapshots.append(snapshot)
        async with resources_of(self.app).session_factory() as session:
            for rows in (
                posts,
                deliveries,
                snapshots,
            ):  # parents first: no relationships to order by
                session.add_all(rows)
                await session.flush()
            await session.commit()

    async def _add(self, row: Any) -> None:
        async with resources_of(self.app).session_factory() as session:
            session.add(row)
            await session.commit()
