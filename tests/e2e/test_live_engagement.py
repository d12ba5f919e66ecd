"""Live engagement in the browser: a sandbox post's likes rise, the collector measures them, and
the numbers on the post page and the analytics dashboard change without a reload."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.e2e.flows import (
    add_sandbox_account,
    api,
    current_workspace,
    post_now,
    set_up_owner_in_browser,
)
from tests.server_process import ServerProcess, running_server

# Measured every 2 seconds from publishing, so the test sees several collections.
FAST_COLLECTION = "1s, every 2s until 30m"
# A huge starting audience: likes then arrive every second along the sandbox's curve.
FOLLOWERS = 100_000_000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with running_server(tmp_path / "data", POSTWIZARD_METRICS_SCHEDULE=FAST_COLLECTION) as process:
        yield process


async def publish_a_post_of_a_popular_account(page: Page) -> tuple[str, str]:
    """The sandbox account exists with a big audience before PostWizard connects it (connecting
    an existing handle signs in to it), then a post goes out now. Returns (workspace, post)."""
    await api(
        page, "POST", "/sandbox/v1/accounts", {"handle": "famous_bakery", "followers": FOLLOWERS}
    )
    workspace = await current_workspace(page)
    account = await add_sandbox_account(page, workspace, "Famous Bakery", "famous_bakery")
    return workspace, await post_now(page, workspace, account, "Our sourdough is out of the oven!")


async def test_likes_rise_on_screen_without_reload(page: Page) -> None:
    await set_up_owner_in_browser(page)
    _, post_id = await publish_a_post_of_a_popular_account(page)

    await page.goto(f"/posts/{post_id}")
    await page.evaluate("window.__notReloaded = true")
    likes = page.get_by_test_id("post-metrics").get_by_test_id("metric-likes")
    await expect(likes).to_have_text(re.compile(r"^[\d.,]+K?$"), timeout=30_000)
    first = await likes.text_content()
    await expect(likes).not_to_have_text(first or "", timeout=30_000)
    assert await page.evaluate("window.__notReloaded === true")

    await page.goto("/analytics")
    await page.evaluate("window.__notReloaded = true")
    engagements = page.get_by_test_id("overview-engagements-value")
    await expect(engagements).to_have_text(re.compile(r"^[\d.,]+K?$"), timeout=15_000)
    shown = await engagements.text_content()
    await expect(engagements).not_to_have_text(shown or "", timeout=30_000)
    assert await page.evaluate("window.__notReloaded === true")
    await expect(page.get_by_test_id("best-time-heatmap")).to_be_visible()
