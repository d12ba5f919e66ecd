"""AI captions: generate (whole or streamed), rewrite, adapt, hashtags, translate, alt text;
the workspace's provider settings and brand voice; the history of generations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sse_starlette import EventSourceResponse

from postwizard.api import API_PREFIX
from postwizard.api.pagination import MAX_LIMIT, Page
from postwizard.api.rate_limits import Limit, enforce
from postwizard.api.resources import resources
from postwizard.captions import repository, schemas, service
from postwizard.db.session import DbSession
from postwizard.workspaces.dependencies import (
    AdminAccess,
    EditorAccess,
    ViewerAccess,
    WorkspaceAccess,
)

router = APIRouter(prefix=f"{API_PREFIX}/workspaces/{{workspace_id}}/captions", tags=["captions"])


async def _count_generation(request: Request, access: WorkspaceAccess) -> None:
    """Every request that asks the model counts against the workspace's
    `ai_generations_per_minute` (a model server costs money or shared capacity)."""
    held = resources(request)
    limit = Limit("ai", held.settings.ai_generations_per_minute)
    await enforce(held.rate_limiter, limit, [str(access.workspace.id)], "AI caption requests")


@router.post("/generate")
async def generate_captions(
    body: schemas.GenerateIn, request: Request, access: EditorAccess, session: DbSession
) -> schemas.Generation:
    """Variants of a post from a brief, each fitted to every target as its network counts
    (`versions` holds one per target, shaped for it). Stored in the workspace's history."""
    await _count_generation(request, access)
    return await service.generate(session, resources(request), access, body)


@router.post(
    "/generate/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`started`, `progress`, one `variant` per variant, then `done` "
            "(the stored generation) or `error`.",
        }
    },
)
async def stream_captions(
    body: schemas.GenerateIn, request: Request, access: EditorAccess, session: DbSession
) -> EventSourceResponse:
    """The same as `generate`, streamed as Server-Sent Events so that variants appear as the
    model finishes each one."""
    await _count_generation(request, access)
    held = resources(request)
    context = await service.caption_context(session, held, access.workspace.id, body)
    try:
        images = await service.images_for(
            session, held, access.workspace.id, body.media_ids, load=context.provider.accepts_images
        )
    except BaseException:
        await context.provider.aclose()
        raise
    events = service.generation_events(held.session_factory, held, access, body, context, images)
    return EventSourceResponse(events, headers={"Cache-Control": "no-store"})


@router.post("/rewrite")
async def rewrite_caption(
    body: schemas.RewriteIn, request: Request, access: EditorAccess, session: DbSession
) -> schemas.Rewritten:
    """Rewrite a text: shorter, longer, more formal, more casual, or with grammar fixed."""
    await _count_generation(request, access)
    return await service.rewrite(session, resources(request), access, body)


@router.post("/adapt")
async def adapt_caption(
    body: schemas.AdaptIn, request: Request, access: EditorAccess, session: DbSession
) -> schemas.AdaptedOut:
    """One version of a text per target, shaped for its network and fitted to its limits."""
    await _count_generation(request, access)
    return await service.adapt(session, resources(request), access, body)


@router.post("/hashtags")
async def suggest_hashtags(
    body: schemas.HashtagsIn, request: Request, access: EditorAccess, session: DbSession
) -> schemas.HashtagsOut:
    """Hashtags for a text, per network, each one valid there."""
    await _count_generation(request, access)
    return await service.suggest_hashtags(session, resources(request), access, body)


@router.post("/translate")
async def translate_caption(
    body: schemas.TranslateIn, request: Request, access: EditorAccess, session: DbSession
) -> schemas.Translated:
    """Translate a text (model providers only; the offline assistant answers 422)."""
    await _count_generation(request, access)
    return await service.translate(session, resources(request), access, body)


@router.post("/alt-text")
async def suggest_alt_text(
    body: schemas.AltTextIn, request: Request, access: EditorAccess, session: DbSession
) -> schemas.AltText:
    """Alt text for an image of the library (a model that accepts images only)."""
    await _count_generation(request, access)
    return await service.alt_text(session, resources(request), access, body)


@router.get("/generations")
async def list_generations(
    access: ViewerAccess,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[
        uuid.UUID | None, Query(description="`next_cursor` of the previous page.")
    ] = None,
) -> Page[schemas.GenerationRecord]:
    """What was generated in this workspace, newest first, with what people kept."""
    records = await repository.recent_generations(session, access.workspace.id, limit, cursor)
    next_cursor = str(records[-1].id) if len(records) == limit else None
    return Page(items=[service.describe_record(r) for r in records], next_cursor=next_cursor)


@router.post("/generations/{generation_id}/feedback")
async def record_feedback(
    generation_id: uuid.UUID, body: schemas.FeedbackIn, access: EditorAccess, session: DbSession
) -> schemas.GenerationRecord:
    """Which variant was kept and how it was finally worded; the offline assistant ranks its
    styles by what the workspace keeps."""
    record = await service.record_feedback(session, access.workspace.id, generation_id, body)
    return service.describe_record(record)


@router.get("/settings")
async def get_caption_settings(
    request: Request, access: ViewerAccess, session: DbSession
) -> schemas.CaptionSettings:
    """The workspace's caption provider and brand voice (an API key is never returned)."""
    return await service.describe_settings(session, resources(request), access.workspace.id)


@router.put("/settings")
async def update_caption_settings(
    body: schemas.CaptionSettingsUpdate, request: Request, access: AdminAccess, session: DbSession
) -> schemas.CaptionSettings:
    """Choose the provider (the instance's, the offline assistant, or a model server of the
    workspace's own) and set the brand voice."""
    held = resources(request)
    await service.update_settings(session, held, access.workspace.id, body)
    return await service.describe_settings(session, held, access.workspace.id)


@router.post("/settings/test")
async def test_caption_connection(
    body: schemas.ConnectionTestIn, request: Request, access: AdminAccess, session: DbSession
) -> schemas.ConnectionTest:
    """Try a model server (the given settings, or the stored ones): does it answer, and does it
    have the model?"""
    return await service.check_connection(session, resources(request), access.workspace.id, body)


@router.post("/voice/learn")
async def learn_voice(access: AdminAccess, session: DbSession) -> schemas.VoiceProposal:
    """Propose a brand voice from the workspace's published posts (not saved)."""
    return await service.propose_voice(session, access.workspace.id)
