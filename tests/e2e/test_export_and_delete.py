"""Settings' export and deletion, in a real browser: export the workspace (a "preparing" state,
then a zip download), delete it by typing its name, then delete the account with its password."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from playwright.async_api import Page, expect

from tests.e2e.flows import (
    OWNER,
    add_sandbox_account,
    api,
    current_workspace,
    set_up_owner_in_browser,
)


async def test_export_then_delete_the_workspace_then_the_account(
    page: Page, tmp_path: Path
) -> None:
    await set_up_owner_in_browser(page)
    workspace = await current_workspace(page)
    await add_sandbox_account(page, workspace, "Bakery", "bakery")

    await page.goto("/settings/workspace")
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Export workspace").click()
    download = await download_info.value
    assert re.fullmatch(r"postwizard-olivia-s-bakery-\d{8}-\d{6}\.zip", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        accounts = json.loads(archive.read("accounts.json"))
    assert manifest["workspace"]["name"] == "Olivia's Bakery"
    assert [a["handle"] for a in accounts] == ["bakery"]
    await expect(page.get_by_text("Export ready")).to_be_visible()

    await page.get_by_role("button", name="Delete workspace…").click()
    dialog = page.get_by_role("dialog")
    confirm = dialog.get_by_role("button", name="Delete for good")
    await expect(confirm).to_be_disabled()
    await dialog.get_by_label("Type the workspace's name to confirm").fill("Olivia's Bakery")
    await confirm.click()
    await expect(page.get_by_text("No workspace selected")).to_be_visible()
    assert (await api(page, "GET", "/api/v1/me"))["workspaces"] == []

    await page.goto("/settings/profile")
    await page.get_by_role("button", name="Delete my account…").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Your password").fill("not-my-password")
    await dialog.get_by_role("button", name="Delete my account").click()
    await expect(dialog.get_by_text("does not match")).to_be_visible()
    await dialog.get_by_label("Your password").fill(OWNER["password"])
    await dialog.get_by_role("button", name="Delete my account").click()
    await expect(page).to_have_url(re.compile(r"/(login|setup)"))
