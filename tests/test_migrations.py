"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from postwizard.db.engine import create_engine
from postwizard.db.migrate import head_revision
from postwizard.db.models import Base


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()


async def test_database_is_at_head_with_every_table(database_url: str) -> None:
    def tables_and_revision(connection: Connection) -> tuple[set[str], str | None]:
        revision = MigrationContext.configure(connection).get_current_revision()
        return set(inspect(connection).get_table_names()), revision

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            tables, revision = await connection.run_sync(tables_and_revision)
    finally:
        await engine.dispose()
    assert revision == head_revision()
    assert set(Base.metadata.tables) <= tables


async def test_sqlite_runs_with_wal_and_foreign_keys(sqlite_url: str) -> None:
    from sqlalchemy import text

    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
    finally:
        await engine.dispose()
