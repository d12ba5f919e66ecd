"""Adding accounts in a real browser: the network picker, a connect form rendered from the
network's fields with the API's field errors shown at the field, the new account listed, and
an OAuth network (Mastodon, against its local fake server) connected by signing in there."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.e2e.flows import api, set_up_owner_in_browser
from tests.fakes.mastodon import FakeMastodon
from tests.support.serving import serving


async def test_add_a_sandbox_account_through_the_network_picker(page: Page) -> None:
    await set_up_owner_in_browser(page)
    await page.goto("/accounts")
    await expect(page.get_by_text("No accounts yet")).to_be_visible()
    await page.get_by_role("button", name="Add account").click()

    networks = page.get_by_role("list", name="Social networks")
    # Networks without an adapter yet are shown, disabled, with why.
    await expect(networks.get_by_role("button", name=re.compile(r"^X\b"))).to_be_disabled()
    await page.get_by_role(
        "button", name=re.compile("Try PostWizard without connecting a real account")
    ).click()

    form = page.get_by_role("form", name="Connect Sandbox")
    await form.get_by_label("Handle").fill("not a handle!")
    await form.get_by_role("button", name="Add sandbox account").click()
    handle = form.get_by_label("Handle")
    await expect(handle).to_have_attribute("aria-invalid", "true")
    await expect(
        form.get_by_text("Use 1 to 30 letters, digits or _ for the handle.")
    ).to_be_visible()

    await handle.fill("bakery")
    await form.get_by_label("Display name").fill("Olivia's Bakery")
    await form.get_by_role("button", name="Add sandbox account").click()

    listed = page.get_by_role("listitem", name="Olivia's Bakery (Sandbox)")
    await expect(listed).to_be_visible()
    await expect(listed).to_contain_text("Connected")
    await expect(listed).to_contain_text("@bakery")
    await expect(page.get_by_text("Sandbox account “Olivia's Bakery” added")).to_be_visible()

    me = await api(page, "GET", "/api/v1/me")
    stored = await api(page, "GET", f"/api/v1/workspaces/{me['current_workspace_id']}/accounts")
    assert [(a["handle"], a["status"]) for a in stored["items"]] == [("bakery", "connected")]

    # Disconnecting asks first.
    await listed.get_by_role("button", name="Disconnect Olivia's Bakery").click()
    await page.get_by_role("button", name="Yes, disconnect").click()
    await expect(listed).to_have_count(0)
    await expect(page.get_by_text("No accounts yet")).to_be_visible()


async def test_connect_a_mastodon_account_by_signing_in_on_its_server(page: Page) -> None:
    fake = FakeMastodon(domain="fake.social")
    fake.add_account("alice", "Alice Example")
    with serving(fake.app()) as mastodon_url:
        await set_up_owner_in_browser(page)
        await page.goto("/accounts")
        await page.get_by_role("button", name="Add account").click()
        networks = page.get_by_role("list", name="Social networks")
        mastodon = networks.get_by_role("button", name=re.compile(r"^Mastodon"))
        await expect(mastodon).to_contain_text("Sign in on Mastodon")
        await mastodon.click()

        form = page.get_by_role("form", name="Connect Mastodon")
        await form.get_by_label("Your Mastodon server").fill(mastodon_url)
        # To the server's authorize page (the fake approves at once) and back.
        await form.get_by_role("button", name="Continue to Mastodon").click()
        await expect(page).to_have_url(re.compile(r"/accounts\?connected=[0-9a-f-]{36}$"))

        listed = page.get_by_role("listitem", name="Alice Example (Mastodon)")
        await expect(listed).to_contain_text("Connected")
        await expect(listed).to_contain_text("@alice@fake.social")
        await expect(page.get_by_text("“Alice Example” is connected.")).to_be_visible()
        assert [path for method, path in fake.requests if method == "POST"] == [
            "/api/v1/apps",
            "/oauth/token",
        ]

    # An answer PostWizard did not start (or a refusal) comes back as a banner, not an account.
    await page.goto("/api/v1/oauth/mastodon/callback?error=access_denied&state=forged")
    await expect(page).to_have_url(re.compile(r"/accounts\?error="))
    await expect(page.get_by_role("alert")).to_contain_text("not one PostWizard started")
    await expect(page.get_by_role("listitem", name=re.compile(r"\(Mastodon\)"))).to_have_count(1)
