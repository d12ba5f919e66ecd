"""The Growth page in the browser: create a goal and a challenge with the forms, publish a
sandbox post "now" (the served app's embedded worker sends it), and see progress move live."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.e2e.flows import (
    add_sandbox_account,
    current_workspace,
    post_now,
    set_up_owner_in_browser,
)


async def test_goal_and_challenge_progress_move_when_a_post_goes_out(page: Page) -> None:
    await set_up_owner_in_browser(page)
    workspace = await current_workspace(page)
    account = await add_sandbox_account(page, workspace, "Bakery", "growth_bakery")

    await page.goto("/growth")
    await expect(page.get_by_text("No goals yet")).to_be_visible()
    goal_form = page.get_by_role("form", name="New goal")
    await goal_form.get_by_label("Goal").select_option("posts_per_week")
    await goal_form.get_by_label("Target").fill("3")
    await goal_form.get_by_role("button", name="Add goal").click()
    goal = page.get_by_test_id("goal")
    await expect(goal).to_contain_text("3 posts a week")
    await expect(goal).to_contain_text("Now 0.0/week")

    challenge_form = page.get_by_role("form", name="New challenge")
    await challenge_form.get_by_label("Challenge").select_option("daily_30")
    await challenge_form.get_by_role("button", name="Start challenge").click()
    challenge = page.get_by_test_id("challenge")
    await expect(challenge).to_contain_text("Post every day for 30 days")
    await expect(challenge).to_contain_text("0 / 30")

    await page.evaluate("window.__notReloaded = true")
    await post_now(page, workspace, account, "Fresh bread, day one")
    await expect(challenge).to_contain_text("1 / 30", timeout=20_000)
    await expect(goal).to_contain_text("Now 1.0/week")
    await expect(page.get_by_test_id("daily-streak")).to_have_text("1")
    assert await page.evaluate("window.__notReloaded === true")
