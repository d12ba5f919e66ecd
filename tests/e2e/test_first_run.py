"""A new owner's first minutes, in a real browser: setup, sign out, a wrong password,
sign in, and an API token that then works against the API."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.server_process import ServerProcess

OWNER = {"name": "Olivia Owner", "email": "olivia@example.com", "password": "a-long-secret-phrase"}


def test_first_run_setup_login_and_api_token(page: Page, server: ServerProcess) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    page.get_by_label("Your name").fill(OWNER["name"])
    page.get_by_label("Email").fill(OWNER["email"])
    page.get_by_label("Password").fill(OWNER["password"])
    page.get_by_label("Workspace name").fill("Olivia's Bakery")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_test_id("workspace-switcher")).to_contain_text("Olivia's Bakery")
    expect(page.get_by_test_id("live-indicator")).to_contain_text("Live")

    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))

    page.get_by_label("Email").fill(OWNER["email"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Email or password is wrong.")
    expect(page).to_have_url(re.compile(r"/login"))

    page.get_by_label("Password").fill(OWNER["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("user-menu")).to_be_visible()

    page.goto("/settings/tokens")
    page.get_by_label("Token name").fill("my script")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_test_id("token-secret").inner_text().strip()
    assert secret.startswith("pw_")

    me = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    assert me.json()["user"]["email"] == OWNER["email"]
    assert me.json()["workspaces"][0]["name"] == "Olivia's Bakery"
    page.get_by_role("button", name="I have copied it").click()
    expect(page.get_by_text("my script")).to_be_visible()
