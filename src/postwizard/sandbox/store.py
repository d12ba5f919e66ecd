"""The sandbox network's own database: one SQLite file, independent of PostWizard's.

Its `post` table is the network's record of everything it was sent, so it is independent
evidence of "never lost, never twice".

Concurrency: every statement runs on one dedicated thread with one connection. Requests
queue for that thread, so writes are serialised without locks or SQLITE_BUSY, and each write
is committed (WAL, synchronous=NORMAL: it survives the process dying) before the awaiting
request goes on to answer. Readers in other processes (a test opening the file) are fine: WAL.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5_000
SCHEMA = """
CREATE TABLE IF NOT EXISTS account (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    handle TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL,
    initial_followers INTEGER NOT NULL,
    following INTEGER NOT NULL,
    posts_count INTEGER NOT NULL DEFAULT 0,
    token_digest TEXT UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS post (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES account (id),
    text TEXT NOT NULL,
    client_key TEXT NOT NULL,
    reply_to INTEGER REFERENCES post (id),
    media TEXT NOT NULL,
    audience INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS post_account_client_key ON post (account_id, client_key);
CREATE INDEX IF NOT EXISTS post_account_created_at ON post (account_id, created_at);
"""
POST_COLUMNS = (
    "post.id, post.account_id, account.handle, post.text, post.client_key, post.reply_to, "
    "post.media, post.audience, post.created_at"
)
ACCOUNT_COLUMNS = "id, handle, display_name, initial_followers, following, posts_count, created_at"


class HandleTaken(Exception):
    """An account with this handle (case-insensitively) exists already."""


class ReplyTargetNotFound(Exception):
    """`reply_to` names a post the network does not have."""


@dataclass(frozen=True)
class AccountRow:
    id: int
    handle: str
    display_name: str
    initial_followers: int
    following: int
    posts_count: int
    created_at: datetime


@dataclass(frozen=True)
class PostRow:
    id: int
    account_id: int
    handle: str
    text: str
    client_key: str
    reply_to: int | None
    media: list[dict[str, Any]]
    audience: int  # followers when posted; fixes the post's engagement curve
    created_at: datetime


@dataclass(frozen=True)
class RecordEntry:
    id: int
    handle: str
    client_key: str
    created_at: datetime


@dataclass(frozen=True)
class DuplicateKey:
    handle: str
    client_key: str
    post_ids: list[int]


@dataclass(frozen=True)
class Record:
    """Everything the network received, for checking "never lost, never twice"."""

    accounts: int
    posts: int
    distinct_client_keys: int
    duplicates: list[DuplicateKey]
    entries: list[RecordEntry]


def to_text(moment: datetime) -> str:
    """Fixed-width UTC ISO 8601, so text order is time order in SQL."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _from_text(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _account(row: sqlite3.Row) -> AccountRow:
    return AccountRow(
        id=row["id"],
        handle=row["handle"],
        display_name=row["display_name"],
        initial_followers=row["initial_followers"],
        following=row["following"],
        posts_count=row["posts_count"],
        created_at=_from_text(row["created_at"]),
    )


def _post(row: sqlite3.Row) -> PostRow:
    return PostRow(
        id=row["id"],
        account_id=row["account_id"],
        handle=row["handle"],
        text=row["text"],
        client_key=row["client_key"],
        reply_to=row["reply_to"],
        media=json.loads(row["media"]),
        audience=row["audience"],
        created_at=_from_text(row["created_at"]),
    )


class SandboxStore:
    """Async access to the sandbox's SQLite file; see the module docstring for concurrency."""

    def __init__(self, path: Path) -> None:
        if str(path) == ":memory:" or str(path).startswith("file::memory:"):
            raise ValueError(
                "the sandbox needs a database file (its record must outlive a request); "
                "':memory:' is not allowed"
            )
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None
        self._executor_lock = threading.Lock()

    # --- plumbing --------------------------------------------------------------------------

    def _thread(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="sandbox-store"
                )
            return self._executor

    def _open(self) -> sqlite3.Connection:
        """The connection, opened on first use (on the store thread, the only one using it)."""
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are begun and committed explicitly below.
            connection = sqlite3.connect(self.path, isolation_level=None)
            connection.row_factory = sqlite3.Row
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
            connection.executescript(SCHEMA)
            self._connection = connection
        return self._connection

    async def open(self) -> None:
        """Create the file and its tables now (else the first query does), so a bad path
        fails at start-up."""
        await self._run(lambda _connection: None)

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread(), lambda: work(self._open()))

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one transaction, committed before this returns."""

        def transaction(connection: sqlite3.Connection) -> T:
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = work(connection)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
            return result

        return await self._run(transaction)

    async def close(self) -> None:
        """Close the connection and stop the thread; the next call opens them again."""
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return

        def close_connection() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        await asyncio.get_running_loop().run_in_executor(executor, close_connection)
        executor.shutdown(wait=True)

    # --- accounts --------------------------------------------------------------------------

    async def create_account(
        self,
        *,
        handle: str,
        display_name: str,
        initial_followers: int,
        following: int,
        token_digest: str,
        created_at: datetime,
    ) -> AccountRow:
        def insert(connection: sqlite3.Connection) -> AccountRow:
            try:
                cursor = connection.execute(
                    "INSERT INTO account (handle, display_name, initial_followers, following,"
                    " token_digest, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        handle,
                        display_name,
                        initial_followers,
                        following,
                        token_digest,
                        to_text(created_at),
                    ),
                )
            except sqlite3.IntegrityError as error:
                raise HandleTaken(handle) from error
            row = connection.execute(
                f"SELECT {ACCOUNT_COLUMNS} FROM account WHERE id = ?",  # noqa: S608 - constant
                (cursor.lastrowid,),
            ).fetchone()
            return _account(row)

        return await self._write(insert)

    async def account_by_handle(self, handle: str) -> AccountRow | None:
        def select(connection: sqlite3.Connection) -> AccountRow | None:
            row = connection.execute(
                f"SELECT {ACCOUNT_COLUMNS} FROM account WHERE handle = ?",  # noqa: S608 - constant
                (handle,),
            ).fetchone()
            return None if row is None else _account(row)

        return await self._run(select)

    async def account_by_token(self, token_digest: str) -> AccountRow | None:
        def select(connection: sqlite3.Connection) -> AccountRow | None:
            row = connection.execute(
                f"SELECT {ACCOUNT_COLUMNS} FROM account WHERE token_digest = ?",  # noqa: S608 - constant
                (token_digest,),
            ).fetchone()
            return None if row is None else _account(row)

        return await self._run(select)

    async def replace_token(self, handle: str, token_digest: str | None) -> bool:
        """Give the account a new token (or none); the old one stops working. False: no account."""

        def update(connection: sqlite3.Connection) -> bool:
            cursor = connection.execute(
                "UPDATE account SET token_digest = ? WHERE handle = ?", (token_digest, handle)
            )
            return cursor.rowcount > 0

        return await self._write(update)

    # --- posts -----------------------------------------------------------------------------

    async def add_post(
        self,
        *,
        account_id: int,
        text: str,
        client_key: str,
        reply_to: int | None,
        media: Sequence[dict[str, Any]],
        created_at: datetime,
        audience_of: Callable[[AccountRow], int],
    ) -> PostRow:
        """Store a post and count it on its account, in one committed transaction.

        `audience_of` turns the account as it is just before this post into the post's
        audience; it runs inside the transaction, so concurrent posts each see the right
        posts count."""

        def insert(connection: sqlite3.Connection) -> PostRow:
            account = _account(
                connection.execute(
                    f"SELECT {ACCOUNT_COLUMNS} FROM account WHERE id = ?",  # noqa: S608 - constant
                    (account_id,),
                ).fetchone()
            )
            if reply_to is not None:
                target = connection.execute("SELECT 1 FROM post WHERE id = ?", (reply_to,))
                if target.fetchone() is None:
                    raise ReplyTargetNotFound(str(reply_to))
            cursor = connection.execute(
                "INSERT INTO post (account_id, text, client_key, reply_to, media, audience,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    account_id,
                    text,
                    client_key,
                    reply_to,
                    json.dumps(list(media)),
                    audience_of(account),
                    to_text(created_at),
                ),
            )
            connection.execute(
                "UPDATE account SET posts_count = posts_count + 1 WHERE id = ?", (account_id,)
            )
            row = connection.execute(
                f"SELECT {POST_COLUMNS} FROM post JOIN account ON account.id = post.account_id"  # noqa: S608 - constant
                " WHERE post.id = ?",
                (cursor.lastrowid,),
            ).fetchone()
            return _post(row)

        return await self._write(insert)

    async def posts_of(
        self,
        account_id: int,
        *,
        client_key: str | None = None,
        since: datetime | None = None,
        limit: int = 20,
    ) -> list[PostRow]:
        """The account's posts, newest first, optionally only those with `client_key` or
        created at or after `since`."""
        conditions = ["post.account_id = ?"]
        parameters: list[object] = [account_id]
        if client_key is not None:
            conditions.append("post.client_key = ?")
            parameters.append(client_key)
        if since is not None:
            conditions.append("post.created_at >= ?")
            parameters.append(to_text(since))
        query = (
            f"SELECT {POST_COLUMNS} FROM post JOIN account ON account.id = post.account_id"  # noqa: S608 - constant parts, values bound
            f" WHERE {' AND '.join(conditions)}"
            " ORDER BY post.created_at DESC, post.id DESC LIMIT ?"
        )
        parameters.append(limit)

        def select(connection: sqlite3.Connection) -> list[PostRow]:
            return [_post(row) for row in connection.execute(query, parameters)]

        return await self._run(select)

    async def posts_by_ids(self, ids: Sequence[int]) -> list[PostRow]:
        if not ids:
            return []
        placeholders = ", ".join("?" for _ in ids)
        query = (
            f"SELECT {POST_COLUMNS} FROM post JOIN account ON account.id = post.account_id"  # noqa: S608 - placeholders only
            f" WHERE post.id IN ({placeholders})"
        )

        def select(connection: sqlite3.Connection) -> list[PostRow]:
            return [_post(row) for row in connection.execute(query, list(ids))]

        return await self._run(select)

    async def record(self, *, with_entries: bool = True) -> Record:
        """Counts, duplicated client keys and (optionally) every post received, oldest first.

        A client key counts once per account: the same key on two accounts is two deliveries
        of one PostWizard post, not a duplicate."""

        def select(connection: sqlite3.Connection) -> Record:
            # One read transaction, so counts and entries describe the same moment.
            connection.execute("BEGIN")
            try:
                accounts = connection.execute("SELECT count(*) FROM account").fetchone()[0]
                posts, distinct = connection.execute(
                    "SELECT count(*), count(DISTINCT account_id || ':' || client_key) FROM post"
                ).fetchone()
                duplicates = [
                    DuplicateKey(
                        handle=row["handle"],
                        client_key=row["client_key"],
                        post_ids=sorted(int(part) for part in row["ids"].split(",")),
                    )
                    for row in connection.execute(
                        "SELECT account.handle, post.client_key, group_concat(post.id) AS ids"
                        " FROM post JOIN account ON account.id = post.account_id"
                        " GROUP BY post.account_id, post.client_key HAVING count(*) > 1"
                        " ORDER BY min(post.id)"
                    )
                ]
                entries = (
                    [
                        RecordEntry(
                            id=row["id"],
                            handle=row["handle"],
                            client_key=row["client_key"],
                            created_at=_from_text(row["created_at"]),
                        )
                        for row in connection.execute(
                            "SELECT post.id, account.handle, post.client_key, post.created_at"
                            " FROM post JOIN account ON account.id = post.account_id"
                            " ORDER BY post.id"
                        )
                    ]
                    if with_entries
                    else []
                )
            finally:
                connection.execute("COMMIT")
            return Record(
                accounts=accounts,
                posts=posts,
                distinct_client_keys=distinct,
                duplicates=duplicates,
                entries=entries,
            )

        return await self._run(select)
