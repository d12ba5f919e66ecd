"""Rules for AI captions: which provider a workspace uses, fitting every result to every target,
asking a model to shorten what overshoots, and remembering what was generated and kept."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypedDict

from cryptography.fernet import InvalidToken
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postwizard.accounts import repository as accounts_repository
from postwizard.accounts.credentials import derived_fernet
from postwizard.api.resources import Resources
from postwizard.captions import repository, schemas
from postwizard.captions.errors import CaptionError, ModelUnreachable
from postwizard.captions.fitting import FitTarget, fit, fits_all
from postwizard.captions.models import (
    CaptionAction,
    CaptionGeneration,
    CaptionSettings,
    ProviderChoice,
)
from postwizard.captions.offline import OfflineAssistant
from postwizard.captions.offline.keywords import keywords
from postwizard.captions.openai_compatible import ModelSettings, OpenAICompatibleProvider
from postwizard.captions.providers import (
    Brief,
    CaptionProvider,
    Draft,
    DraftReady,
    Finished,
    GenerateRequest,
    ImageInput,
    Progress,
    ProviderKind,
    RewriteAction,
    Tone,
    Usage,
    VoiceProfile,
)
from postwizard.config import Settings
from postwizard.db.base import utcnow
from postwizard.errors import Conflict, NotFound, PostWizardError
from postwizard.media.models import Media, MediaKind
from postwizard.net.ssrf import GuardedTransport, TargetPolicy, check_url
from postwizard.platforms.networks import Network
from postwizard.workspaces.dependencies import WorkspaceAccess

_API_KEY_PURPOSE = b"postwizard/ai-api-key/v1"
# A model that overshoots is asked to shorten; past this many requests, fitting just trims.
MAX_SHORTEN_REQUESTS = 6
# Ask for a little less than the limit: models count characters loosely.
SHORTEN_MARGIN = 0.9
VOICE_SAMPLE_POSTS = 20


def invalid(field: str, message: str) -> PostWizardError:
    """A 422 naming the field, for rules across fields that the schemas cannot express."""
    return PostWizardError(
        f"Some fields are not valid — {field}: {message}.",
        code="validation_error",
        status_code=422,
        fields=[{"field": field, "message": message}],
    )


# --- Which provider ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedProvider:
    provider: CaptionProvider
    source: str  # "workspace", "instance" or "offline"
    base_url: str | None


def encrypt_api_key(secret_key: str, api_key: str) -> bytes:
    return derived_fernet(secret_key, _API_KEY_PURPOSE).encrypt(api_key.encode())


def decrypt_api_key(secret_key: str, blob: bytes | None) -> str:
    if not blob:
        return ""
    try:
        return derived_fernet(secret_key, _API_KEY_PURPOSE).decrypt(blob).decode()
    except InvalidToken:
        raise PostWizardError(
            "The stored model API key cannot be decrypted with this instance's secret key; was "
            "POSTWIZARD_SECRET_KEY changed? Enter the API key again in Settings → AI captions.",
            code="credentials_unreadable",
            status_code=500,
        ) from None


def workspace_transport(settings: Settings) -> GuardedTransport:
    """A workspace's model server is a URL people give (the instance's is the operator's): its
    requests go through the SSRF guard."""
    return GuardedTransport(TargetPolicy.from_settings(settings), refuse=ModelUnreachable)


def resolve_provider(
    row: CaptionSettings | None, settings: Settings, secret_key: str
) -> ResolvedProvider:
    """The workspace's own model server, else the instance's, else the offline assistant."""
    choice = row.provider if row is not None else ProviderChoice.INSTANCE
    accepts_images = bool(row and row.accepts_images)
    if choice is ProviderChoice.OPENAI_COMPATIBLE and row and row.base_url and row.model:
        model = ModelSettings(
            base_url=row.base_url,
            model=row.model,
            api_key=decrypt_api_key(secret_key, row.api_key_encrypted),
            timeout_seconds=settings.ai_timeout_seconds,
            accepts_images=accepts_images,
        )
        provider = OpenAICompatibleProvider(model, transport=workspace_transport(settings))
        return ResolvedProvider(provider, "workspace", row.base_url)
    if choice is ProviderChoice.INSTANCE and settings.ai_base_url:
        model = ModelSettings(
            base_url=settings.ai_base_url,
            model=settings.ai_model,
            api_key=settings.ai_api_key.get_secret_value(),
            timeout_seconds=settings.ai_timeout_seconds,
            accepts_images=accepts_images,
        )
        return ResolvedProvider(OpenAICompatibleProvider(model), "instance", settings.ai_base_url)
    return ResolvedProvider(OfflineAssistant(), "offline", None)


def voice_of(row: CaptionSettings | None) -> VoiceProfile:
    voice = (row.voice if row is not None else None) or {}
    return VoiceProfile(
        description=str(voice.get("description", "")),
        use_words=tuple(voice.get("use_words", ())),
        avoid_words=tuple(voice.get("avoid_words", ())),
        examples=tuple(voice.get("examples", ())),
    )


@dataclass
class CaptionContext:
    """What one captions request works with: the provider, the voice, the targets."""

    resolved: ResolvedProvider
    voice: VoiceProfile
    targets: list[FitTarget]
    preferences: dict[str, float] = field(default_factory=dict)

    @property
    def provider(self) -> CaptionProvider:
        return self.resolved.provider

    @property
    def budgets(self) -> dict[Network, int]:
        """Per network, the strictest limit among its targets."""
        budgets: dict[Network, int] = {}
        for target in self.targets:
            limit = target.max_length
            budgets[target.network] = min(limit, budgets.get(target.network, limit))
        return budgets


async def fit_targets(
    session: AsyncSession, workspace_id: uuid.UUID, body: schemas.TargetsIn
) -> list[FitTarget]:
    """The accounts (with their own limits) and networks a text must fit."""
    accounts = await accounts_repository.accounts_in_workspace(
        session, workspace_id, body.account_ids
    )
    missing = [str(a) for a in body.account_ids if a not in accounts]
    if missing:
        raise PostWizardError(
            f"No such account in this workspace: {', '.join(missing)}.",
            code="unknown_account",
            status_code=422,
            fields=[{"field": "account_ids", "message": "not an account of this workspace"}],
        )
    targets = [
        FitTarget(
            network=accounts[a].network,
            overrides=dict(accounts[a].limit_overrides or {}),
            with_media=body.with_media,
            account_id=a,
        )
        for a in dict.fromkeys(body.account_ids)
    ]
    targets += [
        FitTarget(network=n, with_media=body.with_media) for n in dict.fromkeys(body.networks)
    ]
    return targets


async def caption_context(
    session: AsyncSession, held: Resources, workspace_id: uuid.UUID, body: schemas.TargetsIn | None
) -> CaptionContext:
    row = await repository.settings_of(session, workspace_id)
    targets = await fit_targets(session, workspace_id, body) if body is not None else []
    resolved = resolve_provider(row, held.settings, held.secret_key)
    preferences: dict[str, float] = {}
    if resolved.provider.kind is ProviderKind.OFFLINE:
        preferences = {
            k: float(v) for k, v in (await repository.kept_styles(session, workspace_id)).items()
        }
    return CaptionContext(resolved, voice_of(row), targets, preferences)


@asynccontextmanager
async def captioning(
    session: AsyncSession, held: Resources, workspace_id: uuid.UUID, body: schemas.TargetsIn | None
) -> AsyncIterator[CaptionContext]:
    """The `caption_context` of one request; its provider is closed on leaving."""
    context = await caption_context(session, held, workspace_id, body)
    try:
        yield context
    finally:
        await context.provider.aclose()


# --- Fitting what came back -------------------------------------------------------------------


@dataclass
class Fitter:
    """Fits drafts to targets; a model's overshoot is first sent back to it to shorten."""

    context: CaptionContext
    tone: Tone = Tone.FRIENDLY
    usage: Usage = field(default_factory=Usage)
    shorten_requests: int = 0

    async def text_for(self, text: str, targets: Sequence[FitTarget]) -> tuple[str, bool]:
        if not targets:
            return text, False
        if not fits_all(text, targets) and self._may_ask():
            limit = min(target.max_length for target in targets)
            text = await self._shortened(text, int(limit * SHORTEN_MARGIN))
        fitted = fit(text, targets)
        return fitted.text, fitted.trimmed

    def _may_ask(self) -> bool:
        return (
            self.context.provider.kind is not ProviderKind.OFFLINE
            and self.shorten_requests < MAX_SHORTEN_REQUESTS
        )

    async def _shortened(self, text: str, max_length: int) -> str:
        self.shorten_requests += 1
        try:
            written = await self.context.provider.rewrite(
                text,
                RewriteAction.SHORTER,
                voice=self.context.voice,
                tone=self.tone,
                max_length=max_length,
            )
        except CaptionError:
            return text  # trimming still makes it fit
        self.usage = self.usage + written.usage
        return written.text or text

    async def versions(
        self, base: str, per_network: dict[Network, str] | None = None
    ) -> list[schemas.TargetText]:
        results = []
        for target in self.context.targets:
            source = (per_network or {}).get(target.network) or base
            text, trimmed = await self.text_for(source, [target])
            count, limit = target.length(text)
            results.append(
                schemas.TargetText(
                    network=target.network,
                    account_id=target.account_id,
                    text=text,
                    length=schemas.TextCount(count=count, limit=limit),
                    trimmed=trimmed,
                )
            )
        return results

    async def variant(self, index: int, draft: Draft) -> schemas.Variant:
        text, trimmed = await self.text_for(draft.text, self.context.targets)
        return schemas.Variant(
            index=index,
            text=text,
            style=draft.style,
            trimmed=trimmed,
            versions=await self.versions(text, dict(draft.versions)),
        )


# --- Actions ---------------------------------------------------------------------------------


def brief_of(body: schemas.BriefIn) -> Brief:
    return Brief(
        topic=body.topic,
        audience=body.audience,
        tone=body.tone,
        language=body.language,
        length=body.length,
        hashtags=body.hashtags,
        emoji=body.emoji,
        call_to_action=body.call_to_action,
        link=str(body.link) if body.link else "",
    )


async def images_for(
    session: AsyncSession,
    held: Resources,
    workspace_id: uuid.UUID,
    media_ids: Sequence[uuid.UUID],
    *,
    load: bool,
) -> list[ImageInput]:
    """The pictures among `media_ids` (all checked to be the workspace's), read only when the
    provider will look at them."""
    images = []
    for media_id in media_ids:
        media = await _media(session, workspace_id, media_id)
        if load and media.kind is MediaKind.IMAGE:
            data = await held.media_storage.read(media.storage_key)
            images.append(ImageInput(media.mime_type, data, media.alt_text))
    return images


async def _media(
    session: AsyncSession, workspace_id: uuid.UUID, media_id: uuid.UUID, field: str = "media_ids"
) -> Media:
    media = await session.get(Media, media_id)
    if media is None or media.workspace_id != workspace_id:
        raise PostWizardError(
            f"No such media item in this workspace: {media_id}.",
            code="unknown_media",
            status_code=422,
            fields=[{"field": field, "message": "not a media item of this workspace"}],
        )
    return media


def generate_request(
    context: CaptionContext, body: schemas.GenerateIn, seed: int, images: Sequence[ImageInput]
) -> GenerateRequest:
    return GenerateRequest(
        brief=brief_of(body.brief),
        networks=list(context.budgets),
        budgets=context.budgets,
        count=body.count,
        seed=seed,
        voice=context.voice,
        images=images,
        preferences=context.preferences,
    )


def new_seed(body: schemas.GenerateIn) -> int:
    return body.seed if body.seed is not None else secrets.randbelow(schemas.MAX_SEED)


async def generate(
    session: AsyncSession, held: Resources, access: WorkspaceAccess, body: schemas.GenerateIn
) -> schemas.Generation:
    async with captioning(session, held, access.workspace.id, body) as context:
        provider = context.provider
        seed = new_seed(body)
        images = await images_for(
            session, held, access.workspace.id, body.media_ids, load=provider.accepts_images
        )
        generated = await provider.generate(generate_request(context, body, seed, images))
        fitter = Fitter(context, tone=body.brief.tone)
        variants = [await fitter.variant(i, d) for i, d in enumerate(generated.drafts)]
    usage = generated.usage + fitter.usage
    stored = await _store(
        session, access, CaptionAction.GENERATE, provider, body, variants, usage, seed=seed
    )
    return schemas.Generation(**stored, seed=seed, variants=variants)


async def generation_events(
    session_factory: async_sessionmaker[AsyncSession],
    held: Resources,
    access: WorkspaceAccess,
    body: schemas.GenerateIn,
    context: CaptionContext,
    images: Sequence[ImageInput],
) -> AsyncIterator[dict[str, Any]]:
    """Server-Sent Events for a streamed generation: `started`, `progress` while a model
    writes, one `variant` per finished variant (already fitted), then `done` with the stored
    generation; or `error` with a message to show."""
    provider = context.provider
    seed = new_seed(body)
    yield _event(
        "started",
        {
            "provider": provider.kind.value,
            "model": provider.model,
            "seed": seed,
            "count": body.count,
        },
    )
    fitter = Fitter(context, tone=body.brief.tone)
    variants: list[schemas.Variant] = []
    usage = Usage()
    try:
        async for event in provider.stream(generate_request(context, body, seed, images)):
            if isinstance(event, Progress):
                yield _event("progress", {"characters": event.characters})
            elif isinstance(event, DraftReady):
                variant = await fitter.variant(event.index, event.draft)
                variants.append(variant)
                yield _event("variant", variant)
            elif isinstance(event, Finished):
                usage = event.usage
    except PostWizardError as error:
        yield _event("error", {"code": error.code, "message": error.message})
        return
    finally:
        await provider.aclose()
    usage = usage + fitter.usage
    async with session_factory() as session:
        record = _record(access, CaptionAction.GENERATE, provider, body, variants, usage, seed=seed)
        session.add(record)
        await session.commit()
    stored = _stored(record, provider, usage)
    yield _event("done", schemas.Generation(**stored, seed=seed, variants=variants))


def _event(name: str, data: BaseModel | dict[str, Any]) -> dict[str, Any]:
    payload = data.model_dump_json() if isinstance(data, BaseModel) else json.dumps(data)
    return {"event": name, "data": payload}


async def rewrite(
    session: AsyncSession, held: Resources, access: WorkspaceAccess, body: schemas.RewriteIn
) -> schemas.Rewritten:
    async with captioning(session, held, access.workspace.id, body) as context:
        provider = context.provider
        written = await provider.rewrite(
            body.text, body.action, voice=context.voice, tone=body.tone
        )
        fitter = Fitter(context, tone=body.tone)
        text, trimmed = await fitter.text_for(written.text, context.targets)
        versions = await fitter.versions(text)
    usage = written.usage + fitter.usage
    stored = await _store(
        session, access, CaptionAction.REWRITE, provider, body, [{"text": text}], usage
    )
    return schemas.Rewritten(**stored, text=text, trimmed=trimmed, versions=versions)


async def adapt(
    session: AsyncSession, held: Resources, access: WorkspaceAccess, body: schemas.AdaptIn
) -> schemas.AdaptedOut:
    if not body.account_ids and not body.networks:
        raise invalid("account_ids", "name at least one account or network to adapt to")
    async with captioning(session, held, access.workspace.id, body) as context:
        provider = context.provider
        adapted = await provider.adapt(body.text, context.budgets, voice=context.voice)
        fitter = Fitter(context)
        versions = await fitter.versions(body.text, dict(adapted.versions))
    usage = adapted.usage + fitter.usage
    kept = [{"versions": [v.model_dump(mode="json") for v in versions]}]
    stored = await _store(session, access, CaptionAction.ADAPT, provider, body, kept, usage)
    return schemas.AdaptedOut(**stored, versions=versions)


async def suggest_hashtags(
    session: AsyncSession, held: Resources, access: WorkspaceAccess, body: schemas.HashtagsIn
) -> schemas.HashtagsOut:
    async with captioning(session, held, access.workspace.id, None) as context:
        provider = context.provider
        suggested = await provider.hashtags(
            body.text, body.count, list(dict.fromkeys(body.networks)), voice=context.voice
        )
    networks = [
        schemas.NetworkHashtags(network=n, hashtags=tags) for n, tags in suggested.tags.items()
    ]
    kept = [{"hashtags": {n.network.value: n.hashtags for n in networks}}]
    stored = await _store(
        session, access, CaptionAction.HASHTAGS, provider, body, kept, suggested.usage
    )
    return schemas.HashtagsOut(**stored, networks=networks)


async def translate(
    session: AsyncSession, held: Resources, access: WorkspaceAccess, body: schemas.TranslateIn
) -> schemas.Translated:
    async with captioning(session, held, access.workspace.id, None) as context:
        provider = context.provider
        written = await provider.translate(body.text, body.language)
    kept = [{"text": written.text}]
    stored = await _store(
        session, access, CaptionAction.TRANSLATE, provider, body, kept, written.usage
    )
    return schemas.Translated(**stored, text=written.text)


async def alt_text(
    session: AsyncSession, held: Resources, access: WorkspaceAccess, body: schemas.AltTextIn
) -> schemas.AltText:
    async with captioning(session, held, access.workspace.id, None) as context:
        provider = context.provider
        media = await _media(session, access.workspace.id, body.media_id, "media_id")
        if media.kind is not MediaKind.IMAGE:
            raise PostWizardError(
                "Alt text suggestions are for images; this media item is a video.",
                code="not_an_image",
                status_code=422,
                fields=[{"field": "media_id", "message": "not an image"}],
            )
        data = await held.media_storage.read(media.storage_key)
        written = await provider.describe_image(ImageInput(media.mime_type, data, media.alt_text))
    kept = [{"text": written.text}]
    stored = await _store(
        session, access, CaptionAction.ALT_TEXT, provider, body, kept, written.usage
    )
    return schemas.AltText(**stored, alt_text=written.text)


# --- History and feedback -------------------------------------------------------------------------


def _record(
    access: WorkspaceAccess,
    action: CaptionAction,
    provider: CaptionProvider,
    body: BaseModel,
    variants: Sequence[BaseModel | dict[str, Any]],
    usage: Usage,
    *,
    seed: int | None = None,
) -> CaptionGeneration:
    request = body.model_dump(mode="json")
    if seed is not None:
        request["seed"] = seed
    return CaptionGeneration(
        workspace_id=access.workspace.id,
        author_id=access.caller.user.id,
        action=action,
        provider=provider.kind.value,
        model=provider.model,
        request=request,
        variants=[v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in variants],
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
    )


class _Stored(TypedDict):
    """What every caption answer says about the generation it stored in the history."""

    id: uuid.UUID
    provider: ProviderKind
    model: str | None
    usage: schemas.TokenUsage


def _stored(record: CaptionGeneration, provider: CaptionProvider, usage: Usage) -> _Stored:
    return _Stored(
        id=record.id,
        provider=provider.kind,
        model=provider.model,
        usage=schemas.TokenUsage(
            prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens
        ),
    )


async def _store(
    session: AsyncSession,
    access: WorkspaceAccess,
    action: CaptionAction,
    provider: CaptionProvider,
    body: BaseModel,
    variants: Sequence[BaseModel | dict[str, Any]],
    usage: Usage,
    *,
    seed: int | None = None,
) -> _Stored:
    """Add the generation to the workspace's history (flushed, so it has its id)."""
    record = _record(access, action, provider, body, variants, usage, seed=seed)
    session.add(record)
    await session.flush()
    return _stored(record, provider, usage)


def describe_record(record: CaptionGeneration) -> schemas.GenerationRecord:
    return schemas.GenerationRecord(
        id=record.id,
        action=record.action,
        provider=record.provider,
        model=record.model,
        request=record.request,
        variants=record.variants,
        kept_index=record.kept_index,
        edited_text=record.edited_text,
        usage=schemas.TokenUsage(
            prompt_tokens=record.prompt_tokens, completion_tokens=record.completion_tokens
        ),
        author_id=record.author_id,
        created_at=record.created_at,
    )


async def record_feedback(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    generation_id: uuid.UUID,
    body: schemas.FeedbackIn,
) -> CaptionGeneration:
    if body.kept_index is None and body.edited_text is None:
        raise invalid("kept_index", "send kept_index, edited_text or both")
    record = await repository.generation_in_workspace(session, workspace_id, generation_id)
    if record is None:
        raise NotFound("No such generation in this workspace.")
    if body.kept_index is not None:
        if body.kept_index >= len(record.variants):
            raise invalid("kept_index", f"this generation has {len(record.variants)} variants")
        record.kept_index = body.kept_index
    if body.edited_text is not None:
        record.edited_text = body.edited_text
    await session.flush()
    return record


# --- Settings -------------------------------------------------------------------------------------


async def describe_settings(
    session: AsyncSession, held: Resources, workspace_id: uuid.UUID
) -> schemas.CaptionSettings:
    row = await repository.settings_of(session, workspace_id)
    settings = held.settings
    resolved = resolve_provider(row, settings, held.secret_key)
    await resolved.provider.aclose()
    voice = voice_of(row)
    prompt, completion = await repository.token_usage_since(
        session, workspace_id, utcnow() - timedelta(days=30)
    )
    return schemas.CaptionSettings(
        provider=row.provider if row else ProviderChoice.INSTANCE,
        base_url=row.base_url if row else None,
        model=row.model if row else None,
        api_key_set=bool(row and row.api_key_encrypted),
        accepts_images=bool(row and row.accepts_images),
        voice=schemas.Voice(
            description=voice.description,
            use_words=list(voice.use_words),
            avoid_words=list(voice.avoid_words),
            examples=list(voice.examples),
        ),
        instance=schemas.InstanceProvider(
            configured=bool(settings.ai_base_url),
            base_url=settings.ai_base_url or None,
            model=settings.ai_model or None,
        ),
        effective=schemas.EffectiveProvider(
            kind=resolved.provider.kind,
            source=resolved.source,
            base_url=resolved.base_url,
            model=resolved.provider.model,
        ),
        usage_30_days=schemas.TokenUsage(prompt_tokens=prompt, completion_tokens=completion),
    )


async def update_settings(
    session: AsyncSession,
    held: Resources,
    workspace_id: uuid.UUID,
    body: schemas.CaptionSettingsUpdate,
) -> None:
    if body.provider is ProviderChoice.OPENAI_COMPATIBLE:
        if not body.base_url:
            raise invalid("base_url", "a model server needs its base URL")
        if not body.model:
            raise invalid("model", "a model server needs the model's name")
        await check_url(
            body.base_url,
            TargetPolicy.from_settings(held.settings),
            refuse=lambda message: invalid("base_url", message),
        )
    row = await repository.settings_of(session, workspace_id)
    if row is None:
        row = CaptionSettings(workspace_id=workspace_id)
        session.add(row)
    row.provider = body.provider
    row.base_url = body.base_url
    row.model = body.model
    row.accepts_images = body.accepts_images
    row.voice = body.voice.model_dump()
    if body.api_key is not None:
        key = body.api_key.get_secret_value().strip()
        row.api_key_encrypted = encrypt_api_key(held.secret_key, key) if key else None
    await session.flush()


async def check_connection(
    session: AsyncSession, held: Resources, workspace_id: uuid.UUID, body: schemas.ConnectionTestIn
) -> schemas.ConnectionTest:
    """Try the given settings (or the stored ones): list the server's models."""
    row = await repository.settings_of(session, workspace_id)
    if body.base_url is None and body.model is None and body.api_key is None:
        resolved = resolve_provider(row, held.settings, held.secret_key)
        if not isinstance(resolved.provider, OpenAICompatibleProvider):
            return schemas.ConnectionTest(
                ok=True,
                message="The built-in offline assistant is in use; it needs no connection.",
                models=[],
            )
        provider = resolved.provider
    else:
        stored_key = decrypt_api_key(held.secret_key, row.api_key_encrypted) if row else ""
        base_url = body.base_url or (row.base_url if row else None) or held.settings.ai_base_url
        model = body.model or (row.model if row else None) or held.settings.ai_model
        if not base_url or not model:
            field = "base_url" if not base_url else "model"
            raise invalid(field, "needed to test a model server")
        api_key = body.api_key.get_secret_value() if body.api_key is not None else stored_key
        provider = OpenAICompatibleProvider(
            ModelSettings(
                base_url=base_url,
                model=model,
                api_key=api_key,
                timeout_seconds=held.settings.ai_timeout_seconds,
            ),
            transport=None
            if base_url == held.settings.ai_base_url
            else workspace_transport(held.settings),
        )
    try:
        report = await provider.check_connection()
    except CaptionError as error:
        return schemas.ConnectionTest(ok=False, message=error.message, models=[])
    finally:
        await provider.aclose()
    name = provider.settings.model
    if report.model_found:
        message = f"Connected to {provider.server}; the model {name!r} is available."
    else:
        offered = ", ".join(report.models[:10]) or "none"
        message = (
            f"Connected to {provider.server}, but it has no model named {name!r}. "
            f"It offers: {offered}."
        )
    return schemas.ConnectionTest(ok=report.model_found, message=message, models=report.models)


# --- Brand voice from published posts ----------------------------------------------------------

_HASHTAG = re.compile(r"#(\w+)")


async def propose_voice(session: AsyncSession, workspace_id: uuid.UUID) -> schemas.VoiceProposal:
    """A voice profile drawn from the workspace's published posts: their recurring hashtags and
    keywords to use, a description of how they read, and the latest ones as examples. Until
    analytics rank posts by their results, the most recent published posts stand in for the
    best ones."""
    texts = await repository.published_post_texts(session, workspace_id, VOICE_SAMPLE_POSTS)
    if not texts:
        raise Conflict(
            "There are no published posts to learn from yet; publish a few, or describe the "
            "voice yourself.",
            code="no_published_posts",
        )
    tags = Counter(tag for text in texts for tag in _HASHTAG.findall(text))
    recurring = [tag for tag, count in tags.most_common(10) if count >= 2 or len(texts) == 1]
    use_words = recurring + [k for k in keywords(" ".join(texts), limit=8) if k not in recurring]
    voice = schemas.Voice(
        description=_describe_voice(texts),
        use_words=use_words[:12],
        avoid_words=[],
        examples=[text[:3000] for text in texts[:3]],
    )
    return schemas.VoiceProposal(
        voice=voice,
        based_on_posts=len(texts),
        message=f"Proposed from the {len(texts)} most recent published posts. Review it, then save.",
    )


def _describe_voice(texts: Sequence[str]) -> str:
    average = sum(len(t) for t in texts) // len(texts)
    exclaiming = sum("!" in t for t in texts) / len(texts)
    asking = sum("?" in t for t in texts) / len(texts)
    with_emoji = sum(bool(re.search(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]", t)) for t in texts)
    traits = ["Upbeat and enthusiastic" if exclaiming > 0.5 else "Calm and clear"]
    traits.append(f"posts of about {average} characters")
    if with_emoji / len(texts) > 0.5:
        traits.append("uses emoji")
    else:
        traits.append("few or no emoji")
    if asking > 0.3:
        traits.append("often asks the reader a question")
    return "; ".join(traits) + "."
