"""Compose for two accounts, schedule, find the post on the calendar, drag it to another day,
and see the new time on the post — in a real browser against a real server."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from playwright.async_api import Page, expect

from tests.e2e.flows import api, set_up_owner_in_browser

TEXT = "Fresh sourdough at 7 — come early! https://example.com/bread"


async def test_compose_schedule_and_reschedule_by_drag(page: Page) -> None:
    await set_up_owner_in_browser(page)
    me = await api(page, "GET", "/api/v1/me")
    workspace = me["current_workspace_id"]
    accounts = [
        await api(
            page,
            "POST",
            f"/api/v1/workspaces/{workspace}/accounts/sandbox",
            {"display_name": name, "handle": handle},
        )
        for name, handle in (("Bakery", "bakery"), ("Cafe", "cafe"))
    ]

    await page.goto("/compose")
    await page.get_by_label("Post text").fill(TEXT)
    for account in accounts:
        await page.get_by_role("checkbox", name=re.compile(account["display_name"])).check()
    for account in accounts:
        # Mastodon-style rules do not apply to the sandbox: every code point counts.
        await expect(page.get_by_test_id(f"counter-{account['id']}")).to_have_text(
            f"{len(TEXT)} / 500"
        )
    for account in accounts:
        await page.get_by_role("tab", name=re.compile(account["display_name"])).click()
        preview = page.get_by_test_id("preview-sandbox")
        await expect(preview).to_contain_text(account["display_name"])
        await expect(preview).to_contain_text("Fresh sourdough at 7")

    day = (datetime.now(UTC) + timedelta(days=40)).date().replace(day=10)
    await page.get_by_label("Publish date").fill(day.isoformat())
    await page.get_by_label("Publish time").fill("09:30")
    await page.get_by_label("Time zone").select_option("Europe/Berlin")
    await page.get_by_role("button", name="Schedule", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/posts/[0-9a-f-]{36}$"))
    post_id = page.url.rsplit("/", 1)[1]
    await expect(page.get_by_test_id("scheduled-time")).to_have_attribute(
        "datetime", re.compile(rf"^{day.isoformat()}T0[78]:30")
    )

    await page.goto(f"/calendar?view=month&date={day.replace(day=1).isoformat()}")
    chip = page.get_by_test_id(f"calendar-post-{post_id}")
    await expect(
        page.get_by_test_id(f"calendar-day-{day.isoformat()}").get_by_test_id(
            f"calendar-post-{post_id}"
        )
    ).to_be_visible()
    target_day: date = day + timedelta(days=2)
    # The chip moves at once (optimistically); wait for the server to confirm the new time.
    async with page.expect_response(
        lambda r: r.url.endswith("/schedule") and r.request.method == "POST"
    ) as saved:
        await chip.drag_to(page.get_by_test_id(f"calendar-day-{target_day.isoformat()}"))
    assert (await saved.value).ok
    await expect(
        page.get_by_test_id(f"calendar-day-{target_day.isoformat()}").get_by_test_id(
            f"calendar-post-{post_id}"
        )
    ).to_be_visible()

    stored = await api(page, "GET", f"/api/v1/workspaces/{workspace}/posts/{post_id}")
    assert stored["scheduled_at"].startswith(target_day.isoformat())

    await page.get_by_test_id(f"calendar-post-{post_id}").click()
    await expect(page).to_have_url(re.compile(rf"/posts/{post_id}$"))
    await expect(page.get_by_test_id("scheduled-time")).to_have_attribute(
        "datetime", re.compile(rf"^{target_day.isoformat()}T0[78]:30")
    )
