"""Bulk import of posts from CSV: every row is checked first; nothing is created while any row is
invalid (unless asked to skip the invalid ones). Columns are documented in docs/import.md."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts import repository as accounts_repository
from postwizard.accounts.models import SocialAccount
from postwizard.db.base import utcnow
from postwizard.errors import PostWizardError
from postwizard.ids import uuid7
from postwizard.media import repository as media_repository
from postwizard.media.models import Media
from postwizard.platforms.limits import MediaFacts, check
from postwizard.posts.models import ActivityEvent, Post, PostMedia, PostStatus, PostTarget
from postwizard.posts.service import PAST_TOLERANCE, QueuePlanner
from postwizard.publishing.service import new_deliveries
from postwizard.realtime.events import queue_event
from postwizard.scheduling.timezones import as_utc, local_to_utc, validate_timezone
from postwizard.workspaces.dependencies import WorkspaceAccess

COLUMNS = ("text", "accounts", "time", "timezone", "media", "labels", "campaign", "link")
REQUIRED_COLUMNS = ("text", "accounts")
LIST_SEPARATOR = ";"
MAX_ROWS = 50_000
QUEUE = "queue"

Progress = Callable[[int], None]


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str
    message: str


@dataclass
class ValidRow:
    line: int
    text: str
    accounts: list[SocialAccount]
    media: list[Media]
    labels: list[str]
    campaign: str | None
    link: str | None
    when: datetime | None = None
    zone: str | None = None
    queue: bool = False


@dataclass
class ImportReport:
    rows: int
    valid: int
    problems: list[RowProblem] = field(default_factory=list)
    created: list[uuid.UUID] = field(default_factory=list)
    dry_run: bool = False


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]


class RowChecker:
    """Turns CSV rows into ValidRows or problems, with no query per row."""

    def __init__(
        self,
        accounts: Sequence[SocialAccount],
        media: Sequence[Media],
        default_timezone: str,
        now: datetime,
    ) -> None:
        self.accounts_by_key: dict[str, SocialAccount] = {}
        for account in accounts:
            self.accounts_by_key[str(account.id)] = account
            self.accounts_by_key[account.handle.lower()] = account
            self.accounts_by_key[f"{account.network.value}:{account.handle.lower()}"] = account
        self.media_by_key: dict[str, Media] = {}
        for item in media:
            self.media_by_key[str(item.id)] = item
            if item.original_filename:
                self.media_by_key.setdefault(item.original_filename, item)
        self.default_timezone = default_timezone
        self.now = now

    def check(self, line: int, row: dict[str, str]) -> ValidRow | list[RowProblem]:
        problems: list[RowProblem] = []

        def problem(column: str, message: str) -> None:
            problems.append(RowProblem(line, column, message))

        text = (row.get("text") or "").strip()
        accounts: list[SocialAccount] = []
        for key in _split(row.get("accounts") or ""):
            account = self.accounts_by_key.get(key.lower()) or self.accounts_by_key.get(key)
            if account is None:
                problem(
                    "accounts",
                    f"no connected account “{key}” (use its handle, network:handle or id)",
                )
            elif account in accounts:
                problem("accounts", f"“{key}” is listed twice")
            else:
                accounts.append(account)
        if not accounts and not problems:
            problem("accounts", "at least one account is needed")
        media: list[Media] = []
        for key in _split(row.get("media") or ""):
            item = self.media_by_key.get(key)
            if item is None:
                problem(
                    "media",
                    f"“{key}” is not in the media library (upload it first; use its id or file name)",
                )
            else:
                media.append(item)
        if not text and not media:
            problem("text", "a post needs text or media")
        labels = _split(row.get("labels") or "")
        if any(len(label) > 50 for label in labels):
            problem("labels", "a label is at most 50 characters")
        campaign = (row.get("campaign") or "").strip() or None
        link = (row.get("link") or "").strip() or None
        if link and not link.startswith(("http://", "https://")):
            problem("link", "must start with http:// or https://")
        valid = ValidRow(line, text, accounts, media, labels, campaign, link)
        self._check_time(row, valid, problem)
        facts = [
            MediaFacts(m.mime_type, m.size_bytes, m.width, m.height, m.duration_seconds)
            for m in media
        ]
        for account in accounts:
            for violation in check(
                account.network, text, facts, overrides=account.limit_overrides or None
            ):
                problem(
                    "text" if violation.rule.startswith("text") else "media",
                    f"{account.handle}: {violation.message}",
                )
        return problems or valid

    def _check_time(
        self, row: dict[str, str], valid: ValidRow, problem: Callable[[str, str], None]
    ) -> None:
        raw_time = (row.get("time") or "").strip()
        raw_zone = (row.get("timezone") or "").strip() or self.default_timezone
        try:
            zone = validate_timezone(raw_zone)
        except ValueError as error:
            problem("timezone", str(error))
            return
        if not raw_time:
            return  # a draft
        if raw_time.lower() == QUEUE:
            valid.queue = True
            return
        try:
            parsed = datetime.fromisoformat(raw_time)
        except ValueError:
            problem(
                "time",
                f"“{raw_time}” is not a date-time like 2026-12-01 09:30 (or “queue”, or empty for a draft)",
            )
            return
        when = as_utc(parsed) if parsed.tzinfo else local_to_utc(parsed, zone)
        if when < self.now - PAST_TOLERANCE:
            problem("time", f"{raw_time} ({raw_zone}) is in the past")
            return
        valid.when, valid.zone = when, raw_zone


def read_rows(content: str) -> tuple[list[dict[str, str]], list[RowProblem]]:
    """The CSV's rows, or the problem with its header."""
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    problems = [
        RowProblem(1, name, f"unknown column; known: {', '.join(COLUMNS)}")
        for name in header
        if name not in COLUMNS
    ]
    problems += [
        RowProblem(1, name, "required column is missing")
        for name in REQUIRED_COLUMNS
        if name not in header
    ]
    if problems:
        return [], problems
    reader.fieldnames = header
    rows = [{k: (v or "") for k, v in row.items() if k is not None} for row in reader]
    if len(rows) > MAX_ROWS:
        return [], [RowProblem(1, "rows", f"at most {MAX_ROWS} rows per file; split it")]
    return rows, []


async def import_posts(
    session: AsyncSession,
    access: WorkspaceAccess,
    content: str,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    default_timezone: str = "UTC",
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row, then (unless `dry_run`, or rows are invalid and not `skip_invalid`) create
    the posts: scheduled when the row has a time or "queue", drafts otherwise."""
    validate_timezone(default_timezone)
    rows, header_problems = read_rows(content)
    if header_problems:
        return ImportReport(rows=0, valid=0, problems=header_problems, dry_run=dry_run)
    workspace_id = access.workspace.id
    now = utcnow()
    accounts = await accounts_repository.all_accounts_of_workspace(session, workspace_id)
    media_keys = {key for row in rows for key in _split(row.get("media") or "")}
    media = await media_repository.media_by_ids_or_filenames(session, workspace_id, media_keys)
    checker = RowChecker(accounts, media, default_timezone, now)
    report = ImportReport(rows=len(rows), valid=0, dry_run=dry_run)
    valid_rows: list[ValidRow] = []
    for index, row in enumerate(rows):
        result = checker.check(index + 2, row)  # line 1 is the header
        if isinstance(result, ValidRow):
            valid_rows.append(result)
        else:
            report.problems.extend(result)
        if progress is not None:
            progress(1)
    planner = await QueuePlanner.load(session, accounts, now)
    for valid in valid_rows:
        if valid.queue:
            try:
                valid.when, slot_account = planner.take(valid.accounts, now)
            except PostWizardError as error:
                report.problems.append(RowProblem(valid.line, "time", error.message))
                continue
            valid.zone = next(a.timezone for a in valid.accounts if a.id == slot_account)
    invalid_lines = {p.line for p in report.problems}
    valid_rows = [v for v in valid_rows if v.line not in invalid_lines]
    report.valid = len(valid_rows)
    if dry_run or (report.problems and not skip_invalid):
        return report
    report.created = _create(session, access, valid_rows)
    await session.flush()
    session.add(
        ActivityEvent(
            workspace_id=workspace_id,
            actor_id=access.caller.user.id,
            type="posts.imported",
            data={"created": len(report.created), "skipped_rows": len(invalid_lines)},
        )
    )
    queue_event(session, workspace_id, "posts.imported", {"created": len(report.created)})
    return report


def _create(
    session: AsyncSession, access: WorkspaceAccess, rows: Sequence[ValidRow]
) -> list[uuid.UUID]:
    """Add every post with its targets and media in one go (one flush for the whole file)."""
    created = []
    for valid in rows:
        post_id = uuid7()
        post = Post(
            id=post_id,
            workspace_id=access.workspace.id,
            author_id=access.caller.user.id,
            status=PostStatus.SCHEDULED if valid.when else PostStatus.DRAFT,
            text=valid.text,
            link=valid.link,
            labels=valid.labels,
            campaign=valid.campaign,
            scheduled_at=valid.when,
            schedule_timezone=valid.zone,
        )
        targets = [
            PostTarget(id=uuid7(), post_id=post_id, account_id=account.id)
            for account in valid.accounts
        ]
        session.add(post)
        session.add_all(targets)
        if valid.when is not None:
            session.add_all(
                new_deliveries(post, [(t.id, t.account_id, valid.text) for t in targets])
            )
        session.add_all(
            PostMedia(post_id=post_id, media_id=item.id, position=position)
            for position, item in enumerate(valid.media)
        )
        created.append(post_id)
    return created
