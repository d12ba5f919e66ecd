"""Growth API: goals, challenges, streaks and badges of a workspace, recomputed on each read."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from postwizard.api import API_PREFIX
from postwizard.db.base import utcnow
from postwizard.db.session import DbSession
from postwizard.growth import schemas, service
from postwizard.workspaces.dependencies import EditorAccess, ViewerAccess

router = APIRouter(prefix=f"{API_PREFIX}/workspaces/{{workspace_id}}/growth", tags=["growth"])

Timezone = Annotated[
    str, Query(max_length=64, description="IANA zone whose local days streaks count.")
]


@router.get("/goals", response_model=schemas.GoalList)
async def list_goals(access: ViewerAccess, session: DbSession) -> schemas.GoalList:
    """Goals with their current value, forecast at the current pace, and status."""
    return schemas.GoalList(items=await service.list_goals(session, access.workspace.id, utcnow()))


@router.post("/goals", response_model=schemas.Goal, status_code=201)
async def create_goal(
    body: schemas.GoalCreate, access: EditorAccess, session: DbSession
) -> schemas.Goal:
    """Set a goal: followers, engagement rate or posts per week by a deadline."""
    return await service.create_goal(session, access.workspace.id, body, utcnow())


@router.delete("/goals/{goal_id}", status_code=204)
async def delete_goal(goal_id: uuid.UUID, access: EditorAccess, session: DbSession) -> Response:
    await service.delete_goal(session, access.workspace.id, goal_id)
    return Response(status_code=204)


@router.get("/challenge-templates", response_model=schemas.ChallengeTemplateList)
async def challenge_templates(access: ViewerAccess) -> schemas.ChallengeTemplateList:
    """The built-in challenges one can start."""
    return schemas.ChallengeTemplateList(items=service.templates())


@router.get("/challenges", response_model=schemas.ChallengeList)
async def list_challenges(access: ViewerAccess, session: DbSession) -> schemas.ChallengeList:
    """Every challenge, newest window first, with its progress; `completed` ones are the history."""
    return schemas.ChallengeList(
        items=await service.list_challenges(session, access.workspace.id, utcnow())
    )


@router.post("/challenges", response_model=schemas.Challenge, status_code=201)
async def create_challenge(
    body: schemas.ChallengeCreate, access: EditorAccess, session: DbSession
) -> schemas.Challenge:
    """Start a built-in challenge (`template`) or a custom one (`rule`: a count of matching
    published deliveries, or a metric threshold)."""
    return await service.create_challenge(session, access.workspace.id, body, utcnow())


@router.delete("/challenges/{challenge_id}", status_code=204)
async def delete_challenge(
    challenge_id: uuid.UUID, access: EditorAccess, session: DbSession
) -> Response:
    await service.delete_challenge(session, access.workspace.id, challenge_id)
    return Response(status_code=204)


@router.get("/streaks", response_model=schemas.Streaks)
async def streaks(
    access: ViewerAccess,
    session: DbSession,
    timezone: Timezone = "UTC",
    days: Annotated[int, Query(ge=7, le=366, description="Calendar days to return.")] = 35,
) -> schemas.Streaks:
    """Daily and weekly posting streaks (freeze days neither break nor extend a daily one)."""
    return await service.streaks(session, access.workspace.id, timezone, days, utcnow())


@router.put("/streaks/freezes/{day}", status_code=204)
async def freeze_day(day: date, access: EditorAccess, session: DbSession) -> Response:
    """Keep the daily streak alive over a day off (at most 2 a month)."""
    await service.freeze_day(session, access.workspace.id, day)
    return Response(status_code=204)


@router.delete("/streaks/freezes/{day}", status_code=204)
async def unfreeze_day(day: date, access: EditorAccess, session: DbSession) -> Response:
    await service.unfreeze_day(session, access.workspace.id, day)
    return Response(status_code=204)


@router.get("/badges", response_model=schemas.BadgeList)
async def badges(
    access: ViewerAccess, session: DbSession, timezone: Timezone = "UTC"
) -> schemas.BadgeList:
    """Milestones earned and still ahead."""
    return schemas.BadgeList(
        items=await service.badges(session, access.workspace.id, timezone, utcnow())
    )
