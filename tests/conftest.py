"""Fixtures: a fresh, migrated database per test (SQLite, and PostgreSQL where a test asks for
both), the app with its lifespan running, and an API client that behaves like the SPA."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from postwizard.app import create_app
from postwizard.config import Settings
from postwizard.db.migrate import upgrade_to_head
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import Platform
from tests.api_client import ApiClient
from tests.support.services import PostgresServer

pytest_plugins = ["tests.support.plugin"]

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
PG_TEMPLATE = "pw_template"
_database_numbers = itertools.count()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per session; each test gets a copy (much faster than migrating again)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    postgres_server.create_database(PG_TEMPLATE)
    upgrade_to_head(postgres_server.url(PG_TEMPLATE))
    return PG_TEMPLATE


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "postwizard.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, postgres_template: str) -> Iterator[str]:
    name = f"pw_test_{next(_database_numbers)}"
    postgres_server.create_database(name, template=postgres_template)
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Run the test once on SQLite and once on PostgreSQL."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        # No embedded dispatcher: tests that publish drive one themselves, step by step.
        values: dict[str, object] = {
            "data_dir": tmp_path / "data",
            "secret_key": TEST_SECRET,
            "log_format": "console",
            "embedded_worker": False,
            # The fake networks and model servers listen on loopback, which the SSRF guard
            # refuses by default (tests/test_ssrf_guard.py overrides this).
            "private_network_allowlist": "127.0.0.0/8,::1,localhost",
        }
        values.update(overrides)
        return Settings.model_validate(values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings], sqlite_url: str) -> Settings:
    """Settings for tests that do not care which database they run on (SQLite)."""
    return make_settings(database_url=sqlite_url)


@pytest.fixture
def extra_platforms() -> dict[Network, Platform]:
    """Network adapters added to the test app; a test module overrides this fixture to add its
    network's adapter (pointed at the network's fake server) to the built-in sandbox."""
    return {}


@pytest.fixture
async def app(
    settings: Settings, extra_platforms: dict[Network, Platform]
) -> AsyncIterator[FastAPI]:
    application = create_app(settings, extra_platforms=extra_platforms)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def both_app(
    make_settings: Callable[..., Settings],
    database_url: str,
    extra_platforms: dict[Network, Platform],
) -> AsyncIterator[FastAPI]:
    """The app on SQLite and on PostgreSQL (the test runs twice)."""
    application = create_app(
        make_settings(database_url=database_url), extra_platforms=extra_platforms
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[ApiClient]:
    async with ApiClient.for_app(app) as api:
        yield api


@pytest.fixture
async def both_client(both_app: FastAPI) -> AsyncIterator[ApiClient]:
    async with ApiClient.for_app(both_app) as api:
        yield api


@pytest.fixture
def new_client(request: pytest.FixtureRequest) -> Callable[[], ApiClient]:
    """Another browser against the same app (its own cookies), for multi-user tests."""
    app_fixture = "both_app" if "both_client" in request.fixturenames else "app"

    def make() -> ApiClient:
        return ApiClient.for_app(request.getfixturevalue(app_fixture))

    return make
