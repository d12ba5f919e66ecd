"""pytest plugin: session-wide PostgreSQL and Redis servers started from installed binaries.

Load it from the top-level conftest with `pytest_plugins = ["tests.support.plugin"]`.

A service that cannot be had skips the tests that need it, with the reason in the -ra summary;
under CI (CI=true) it fails them instead, so a broken CI machine can never pass by skipping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NoReturn, TypeVar

import pytest

from .services import (
    PostgresServer,
    RedisServer,
    ServiceUnavailable,
    ci_is_on,
    find_postgres_binaries,
    find_redis_server,
    start_postgres,
    start_redis,
)

# A test that uses one of these fixtures gets the marker of the same service, so
# `-m "not postgres"` works without marking each test by hand.
T = TypeVar("T")

MARKER_OF_FIXTURE = {"postgres_server": "postgres", "redis_server": "redis"}


def service_unavailable(reason: str) -> NoReturn:
    if ci_is_on():
        pytest.fail(f"{reason}\n(CI is set: every service is required there)", pytrace=False)
    pytest.skip(reason)


def pytest_report_header(config: pytest.Config) -> list[str]:
    found: list[str] = []
    try:
        found.append(f"postgres: {find_postgres_binaries().bindir}")
    except ServiceUnavailable as exc:
        found.append(f"postgres: {exc}")
    try:
        found.append(f"redis: {find_redis_server()}")
    except ServiceUnavailable as exc:
        found.append(f"redis: {exc}")
    mode = "missing services fail (CI)" if ci_is_on() else "missing services skip"
    return [f"services: {', '.join(found)}; {mode}"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture_name in getattr(item, "fixturenames", ()):
            marker = MARKER_OF_FIXTURE.get(fixture_name)
            if marker is not None and item.get_closest_marker(marker) is None:
                item.add_marker(marker)


def start_or_give_up(start: Callable[[], T]) -> T:
    """Start a service, or skip (fail under CI) with the reason alone, not a chained traceback."""
    try:
        return start()
    except ServiceUnavailable as exc:
        reason = str(exc)
    service_unavailable(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster for the whole session (trust auth, 127.0.0.1)."""
    with start_or_give_up(start_postgres) as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A throwaway redis-server for the whole session (no persistence, 127.0.0.1)."""
    with start_or_give_up(start_redis) as server:
        yield server


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many tests ran on each real service, so a green run shows they were not skipped."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") != "call" and outcome == "passed":
                continue
            for marker in ("postgres", "redis", "browser"):
                if marker in getattr(report, "keywords", {}):
                    counts.setdefault(marker, {}).setdefault(outcome, 0)
                    counts[marker][outcome] += 1
    if not counts:
        return
    terminalreporter.section("real services")
    for marker, outcomes in sorted(counts.items()):
        detail = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
        terminalreporter.write_line(f"{marker}: {detail}")
