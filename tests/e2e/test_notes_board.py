"""The notes board in the browser: write a note, turn it into a post, schedule that post, and
watch the note move to "Scheduled" and then "Done" by itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import Page, expect

from tests.e2e.flows import api, set_up_owner_in_browser


async def test_a_note_becomes_a_post_and_follows_it_to_done(page: Page) -> None:
    await set_up_owner_in_browser(page)
    workspace = (await api(page, "GET", "/api/v1/me"))["current_workspace_id"]
    await api(
        page,
        "POST",
        f"/api/v1/workspaces/{workspace}/accounts/sandbox",
        {"display_name": "Bakery", "handle": "notes_bakery"},
    )

    await page.goto("/notes")
    await expect(page.get_by_text("No notes yet")).to_be_visible()
    await page.get_by_role("button", name="New note").click()
    await page.get_by_label("Title").fill("Croissant Friday")
    await page.get_by_label("Notes (Markdown").fill("Fresh croissants!\n- [x] photo\n- [ ] price")
    await page.get_by_label("Tags").fill("bread, friday")
    await page.get_by_role("button", name="Preview").click()
    await expect(page.get_by_label("Preview").get_by_role("checkbox")).to_have_count(2)
    await page.get_by_role("button", name="Save note").click()

    idea = page.get_by_role("region", name="Idea")
    card = idea.get_by_role("article", name="Croissant Friday")
    await expect(card).to_contain_text("1/2")
    await expect(card).to_contain_text("#friday")

    # The keyboard alternative to dragging: the move buttons.
    await card.get_by_role("button", name="Move Croissant Friday next column").click()
    drafting = page.get_by_role("region", name="Drafting")
    await expect(drafting.get_by_role("article", name="Croissant Friday")).to_be_visible()
    await page.get_by_role("button", name="Move Croissant Friday previous column").click()
    await expect(idea.get_by_role("article", name="Croissant Friday")).to_be_visible()

    await idea.get_by_role("button", name="Croissant Friday", exact=True).click()
    await page.get_by_label("Bakery").check()
    await page.get_by_role("button", name="Turn into a draft post").click()
    await expect(page.get_by_role("link", name="open the post")).to_be_visible()
    await page.keyboard.press("Escape")
    card = drafting.get_by_role("article", name="Croissant Friday")
    await expect(card).to_contain_text("draft", ignore_case=True)

    post_id = (await api(page, "GET", f"/api/v1/workspaces/{workspace}/notes"))["items"][0][
        "post_id"
    ]
    soon = datetime.now(UTC) + timedelta(seconds=4)
    await api(
        page,
        "POST",
        f"/api/v1/workspaces/{workspace}/posts/{post_id}/schedule",
        {"at": soon.isoformat()},
    )
    scheduled = page.get_by_role("region", name="Scheduled")
    await expect(scheduled.get_by_role("article", name="Croissant Friday")).to_be_visible()
    done = page.get_by_role("region", name="Done")
    await expect(done.get_by_role("article", name="Croissant Friday")).to_be_visible(timeout=20_000)
    await expect(done.get_by_role("article", name="Croissant Friday")).to_contain_text(
        "published", ignore_case=True
    )
