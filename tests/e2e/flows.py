"""Steps several browser tests share."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

OWNER = {"name": "Olivia Owner", "email": "olivia@example.com", "password": "a-long-secret-phrase"}


async def set_up_owner_in_browser(page: Page, workspace: str = "Olivia's Bakery") -> None:
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/setup$"))
    await page.get_by_label("Your name").fill(OWNER["name"])
    await page.get_by_label("Email").fill(OWNER["email"])
    await page.get_by_label("Password").fill(OWNER["password"])
    await page.get_by_label("Workspace name").fill(workspace)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_test_id("workspace-switcher")).to_contain_text(workspace)


async def api(page: Page, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call the API as the signed-in page does (its cookies, its CSRF token)."""
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    response = await page.request.fetch(
        path, method=method, data=body, headers={"X-CSRF-Token": cookies.get("pw_csrf", "")}
    )
    assert response.ok, await response.text()
    return await response.json()


async def current_workspace(page: Page) -> str:
    workspace: str = (await api(page, "GET", "/api/v1/me"))["current_workspace_id"]
    return workspace


async def add_sandbox_account(page: Page, workspace: str, name: str, handle: str) -> str:
    """A sandbox account of the workspace, through the API; its id."""
    account = await api(
        page,
        "POST",
        f"/api/v1/workspaces/{workspace}/accounts/sandbox",
        {"display_name": name, "handle": handle},
    )
    account_id: str = account["id"]
    return account_id


async def post_now(page: Page, workspace: str, account_id: str, text: str) -> str:
    """A post to one account, scheduled "now" (the served app's embedded worker sends it)."""
    base = f"/api/v1/workspaces/{workspace}/posts"
    post = await api(page, "POST", base, {"text": text, "targets": [{"account_id": account_id}]})
    await api(page, "POST", f"{base}/{post['id']}/schedule", {"now": True})
    post_id: str = post["id"]
    return post_id
