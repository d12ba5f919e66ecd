"""AI assist in a real browser against a real server: open the composer, generate variants with
the built-in offline assistant, insert one, see the counters, schedule the post."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import Page, expect

from tests.e2e.flows import api, set_up_owner_in_browser

BRIEF = "new sourdough workshop for beginners starts Saturday at the bakery on Main Street"


async def test_generate_insert_a_variant_and_schedule_it(page: Page) -> None:
    await set_up_owner_in_browser(page)
    me = await api(page, "GET", "/api/v1/me")
    workspace = me["current_workspace_id"]
    account = await api(
        page,
        "POST",
        f"/api/v1/workspaces/{workspace}/accounts/sandbox",
        {"display_name": "Bakery", "handle": "bakery"},
    )

    await page.goto("/compose")
    await page.get_by_role("checkbox", name=re.compile("Bakery")).check()
    await page.get_by_role("button", name="Open AI assist").click()
    await page.get_by_label("Brief").fill(BRIEF)
    await page.get_by_role("textbox", name="Audience").fill("home bakers")
    await page.get_by_label("Tone").select_option("witty")
    await page.get_by_label("Link", exact=True).last.fill("https://example.com/workshop")
    await page.get_by_role("button", name="Generate").click()

    variants = page.get_by_role("list", name="Suggested variants").get_by_test_id(
        re.compile(r"^variant-\d+$")
    )
    await expect(variants).to_have_count(3)
    second = page.get_by_test_id("variant-1")
    await expect(second).to_contain_text("sourdough workshop")
    await expect(second).to_contain_text("Bakery (Sandbox):")
    text = await second.locator(".variant-text").inner_text()

    await page.get_by_role("button", name="Insert variant 2").click()
    await expect(page.get_by_label("Post text")).to_have_value(text)
    await expect(page.get_by_test_id(f"counter-{account['id']}")).to_have_text(f"{len(text)} / 500")

    await page.get_by_role("button", name="Shorter").click()
    await expect(page.get_by_role("status").filter(has_text="Rewritten")).to_be_visible()
    shorter = await page.get_by_label("Post text").input_value()
    assert 0 < len(shorter) < len(text)
    await expect(page.get_by_test_id(f"counter-{account['id']}")).to_have_text(
        f"{len(shorter)} / 500"
    )

    # The built-in assistant says what it cannot do instead of pretending.
    await page.get_by_label("Translate into").fill("German")
    await page.get_by_role("button", name="Translate").click()
    await expect(page.get_by_role("alert").filter(has_text="cannot translate")).to_be_visible()
    assert await page.get_by_label("Post text").input_value() == shorter

    day = (datetime.now(UTC) + timedelta(days=40)).date().replace(day=10)
    await page.get_by_label("Publish date").fill(day.isoformat())
    await page.get_by_label("Publish time").fill("09:30")
    await page.get_by_label("Time zone").select_option("Europe/Berlin")
    await page.get_by_role("button", name="Schedule", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/posts/[0-9a-f-]{36}$"))
    post_id = page.url.rsplit("/", 1)[1]
    stored = await api(page, "GET", f"/api/v1/workspaces/{workspace}/posts/{post_id}")
    assert stored["text"] == shorter
    assert stored["status"] == "scheduled"

    history = await api(page, "GET", f"/api/v1/workspaces/{workspace}/captions/generations")
    generated = next(g for g in history["items"] if g["action"] == "generate")
    assert generated["kept_index"] == 1
    assert generated["provider"] == "offline"
