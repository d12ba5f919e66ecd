"""Push on this browser: the service worker registers, and where the browser's push service
cannot be reached (Chromium's is on the internet; the tests are offline) the settings page says
so clearly instead of waiting forever."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.e2e.flows import set_up_owner_in_browser


async def test_service_worker_registers_and_an_unreachable_push_service_is_explained(
    page: Page,
) -> None:
    await set_up_owner_in_browser(page)
    await page.context.grant_permissions(["notifications"])
    await page.goto("/settings/notifications")
    scope = await page.evaluate("async () => (await navigator.serviceWorker.ready).scope", [])
    assert scope.endswith("/")
    status = page.get_by_role("status").filter(has_text="Push is off on this browser")
    await expect(status).to_be_visible()
    await page.get_by_role("button", name="Enable push on this browser").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text(
        "This browser could not register with its push service", timeout=30_000
    )
    await expect(page.get_by_role("button", name="Enable push on this browser")).to_be_enabled()
    await expect(page.get_by_label("A post needs approval: push")).to_be_checked()
