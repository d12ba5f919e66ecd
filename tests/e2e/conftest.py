"""Browser fixtures: Debian's Chromium driven by Playwright (never a downloaded browser),
against a real `postwizard serve` with the built web interface."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from postwizard.web.spa import DIST_DIR
from tests.server_process import ServerProcess, running_server
from tests.support.plugin import service_unavailable

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# Without these, Chromium keeps trying to reach Google's services through a closed network.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.browser)


def find_chromium() -> str | None:
    configured = os.environ.get("POSTWIZARD_TEST_CHROMIUM")
    if configured:
        return configured
    return next((c for c in CHROMIUM_CANDIDATES if Path(c).exists()), shutil.which("chromium"))


# The async API, not the sync one: the sync API keeps an event loop running in the main thread
# for as long as it is open, which breaks every asyncio test that runs after it.
@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = find_chromium()
    if executable is None:
        service_unavailable(
            "Chromium not found (install Debian's chromium) — browser tests skipped"
        )
    if not (DIST_DIR / "index.html").exists():
        service_unavailable("the web interface is not built (run `make test`, which builds it)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with running_server(tmp_path / "data") as process:
        yield process


@pytest.fixture
async def page(
    browser: Browser, server: ServerProcess, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    # A fixed zone, so day cells and local times in the UI are the same on every machine.
    context = await browser.new_context(
        base_url=server.url, viewport={"width": 1280, "height": 800}, timezone_id="Europe/Berlin"
    )
    context.set_default_timeout(10_000)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    # The Content-Security-Policy must not block anything the app does.
    opened.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield opened
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        artifacts = Path(os.environ.get("POSTWIZARD_TEST_ARTIFACTS", "test-results"))
        await asyncio.to_thread(artifacts.mkdir, parents=True, exist_ok=True)
        await opened.screenshot(path=str(artifacts / f"{request.node.name}.png"), full_page=True)
    await context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
