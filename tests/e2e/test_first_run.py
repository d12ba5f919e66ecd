"""A new owner's first minutes, in a real browser: setup, sign out, a wrong password,
sign in, and an API token that then works against the API."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Page, expect

from tests.e2e.flows import OWNER, set_up_owner_in_browser
from tests.server_process import ServerProcess


async def test_first_run_setup_login_and_api_token(page: Page, server: ServerProcess) -> None:
    await set_up_owner_in_browser(page)
    await expect(page.get_by_test_id("live-indicator")).to_contain_text("Live")

    await page.get_by_test_id("user-menu").click()
    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(re.compile(r"/login"))

    await page.get_by_label("Email").fill(OWNER["email"])
    await page.get_by_label("Password").fill("not-the-password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Email or password is wrong.")
    await expect(page).to_have_url(re.compile(r"/login"))

    await page.get_by_label("Password").fill(OWNER["password"])
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_test_id("user-menu")).to_be_visible()

    await page.goto("/settings/tokens")
    await page.get_by_label("Token name").fill("my script")
    await page.get_by_role("button", name="Create token").click()
    secret = (await page.get_by_test_id("token-secret").inner_text()).strip()
    assert secret.startswith("pw_")

    async with httpx.AsyncClient() as http:
        me = await http.get(
            f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
        )
    assert me.status_code == 200
    assert me.json()["user"]["email"] == OWNER["email"]
    assert me.json()["workspaces"][0]["name"] == "Olivia's Bakery"
    await page.get_by_role("button", name="I have copied it").click()
    await expect(page.get_by_text("my script")).to_be_visible()
