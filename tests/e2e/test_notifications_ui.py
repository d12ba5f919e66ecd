"""Notifications in the browser: the bell counts a published post live, the feed marks it
read; a webhook added in settings gets a signed test event, shown in its delivery log."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.e2e.flows import (
    add_sandbox_account,
    current_workspace,
    post_now,
    set_up_owner_in_browser,
)
from tests.notification_support import WebhookReceiver
from tests.support.serving import serving


async def test_bell_counts_live_and_marks_read(page: Page) -> None:
    await set_up_owner_in_browser(page)
    workspace = await current_workspace(page)
    account = await add_sandbox_account(page, workspace, "Bakery", "bell_bakery")
    await page.goto("/calendar")
    bell = page.get_by_test_id("notification-bell")
    await expect(bell).to_have_attribute("aria-label", "Notifications")
    await post_now(page, workspace, account, "Rye loaves are out")
    await expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread", timeout=20_000)
    await bell.click()
    await expect(page.get_by_text("“Rye loaves are out” was published.")).to_be_visible()
    await page.get_by_role("button", name="Mark all read").click()
    await expect(bell).to_have_attribute("aria-label", "Notifications")

    await page.goto("/settings/notifications")
    published = page.get_by_label("A post was published: in the app")
    await expect(published).to_be_checked()
    await published.uncheck()
    await expect(page.get_by_text("Saved.")).to_be_visible()
    await page.reload()
    await expect(page.get_by_label("A post was published: in the app")).not_to_be_checked()


async def test_webhook_test_event_shows_in_the_delivery_log(page: Page) -> None:
    await set_up_owner_in_browser(page)
    receiver = WebhookReceiver([200])
    with serving(receiver.app()) as base:
        await page.goto("/settings/webhooks")
        await expect(page.get_by_text("No webhooks yet")).to_be_visible()
        await page.get_by_label("URL").fill("http://10.1.2.3/hook")
        await page.get_by_role("button", name="Add endpoint").click()
        await expect(page.get_by_text("is a private address")).to_be_visible()

        await page.get_by_label("URL").fill(f"{base}/hook")
        await page.get_by_role("button", name="Add endpoint").click()
        await expect(page.get_by_test_id("webhook-secret")).to_be_visible()
        await page.get_by_role("button", name="Send test event").click()
        await expect(page.get_by_text("Test event queued")).to_be_visible()
        for _ in range(40):  # the embedded worker sends it within a moment
            await page.get_by_role("button", name="Delivery log").click()
            if await page.get_by_role("cell", name="delivered").count():
                break
            await page.wait_for_timeout(250)
        await expect(page.get_by_role("cell", name="delivered")).to_be_visible()
        await expect(page.get_by_role("cell", name="200")).to_be_visible()
    assert len(receiver.received) == 1
    assert "postwizard-signature" in receiver.received[0].headers
