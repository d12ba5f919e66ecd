"""Bulk import from CSV (API and CLI) and export: every row checked first, bad rows reported
with their line numbers, nothing created unless every row is valid or skipping was asked for."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI

from tests.api_client import ApiClient, Person, add_sandbox_account, connect_account, set_up_owner
from tests.server_process import POSTWIZARD

NEXT_YEAR = datetime.now(UTC).year + 1
HEADER = "text,accounts,time,timezone,labels,campaign\n"


def import_url(owner: Person, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v1/workspaces/{owner.workspace_id}/imports/posts" + (f"?{query}" if query else "")


async def post_csv(api: ApiClient, url: str, content: str):  # type: ignore[no-untyped-def]
    return await api.post(url, content=content.encode(), headers={"Content-Type": "text/csv"})


async def count_posts(api: ApiClient, owner: Person) -> int:
    page = (
        await api.get(f"/api/v1/workspaces/{owner.workspace_id}/posts", params={"limit": 200})
    ).json()
    return len(page["items"])


async def test_a_good_file_creates_scheduled_posts_and_drafts(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    await add_sandbox_account(client, owner.workspace_id, "bakery")
    await connect_account(app, owner.workspace_id, "bluesky", "bakery.bsky.social")
    content = HEADER + (
        f"Croissants today,bakery,{NEXT_YEAR}-02-01 08:00,Europe/Paris,pastry;morning,Winter\n"
        f'"Two, networks",bakery;bluesky:bakery.bsky.social,{NEXT_YEAR}-02-02T09:00:00+00:00,,,\n'
        "Just an idea,bakery,,,,\n"
    )
    response = await post_csv(client, import_url(owner), content)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["valid"], len(report["created"]), report["problems"]) == (
        3,
        3,
        3,
        [],
    )
    posts = {
        p["text"]: p
        for p in (await client.get(f"/api/v1/workspaces/{owner.workspace_id}/posts")).json()[
            "items"
        ]
    }
    assert posts["Croissants today"]["scheduled_at"] == f"{NEXT_YEAR}-02-01T07:00:00Z"
    assert posts["Croissants today"]["labels"] == ["pastry", "morning"]
    assert posts["Croissants today"]["campaign"] == "Winter"
    assert posts["Two, networks"]["status"] == "scheduled"
    assert [t["network"] for t in posts["Two, networks"]["targets"]] == ["sandbox", "bluesky"]
    assert posts["Just an idea"]["status"] == "draft"


async def test_three_bad_rows_are_all_reported_and_nothing_is_created(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    await add_sandbox_account(client, owner.workspace_id, "bakery")
    await connect_account(app, owner.workspace_id, "x", "bakery_x")
    content = HEADER + (
        f"Fine row,bakery,{NEXT_YEAR}-02-01 08:00,UTC,,\n"
        f"Unknown account,nobody,{NEXT_YEAR}-02-01 08:00,UTC,,\n"
        f"{'x' * 300},bakery_x,{NEXT_YEAR}-02-01 08:00,UTC,,\n"
        "Bad time,bakery,next tuesday,UTC,,\n"
        f"Also fine,bakery,{NEXT_YEAR}-02-03 08:00,UTC,,\n"
    )
    response = await post_csv(client, import_url(owner), content)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_rows"
    assert "3 of 5 rows are invalid" in error["message"]
    assert [f["field"] for f in error["fields"]] == [
        "line 3: accounts",
        "line 4: text",
        "line 5: time",
    ]
    assert "nobody" in error["fields"][0]["message"]
    assert "280" in error["fields"][1]["message"]
    assert await count_posts(client, owner) == 0

    dry = await post_csv(client, import_url(owner, dry_run="true"), content)
    assert dry.status_code == 200
    assert (dry.json()["valid"], len(dry.json()["problems"]), dry.json()["created"]) == (2, 3, [])
    assert await count_posts(client, owner) == 0

    skipped = await post_csv(client, import_url(owner, skip_invalid="true"), content)
    assert skipped.status_code == 200
    assert len(skipped.json()["created"]) == 2
    assert await count_posts(client, owner) == 2


async def test_unknown_columns_and_queue_rows(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    bad_header = await post_csv(client, import_url(owner), "text,accounts,when\nhi,bakery,now\n")
    assert bad_header.status_code == 422
    assert bad_header.json()["error"]["fields"][0]["field"] == "line 1: when"
    await client.patch(
        f"/api/v1/workspaces/{owner.workspace_id}/accounts/{account}",
        json={"slots": [{"weekday": d, "time": "10:00"} for d in range(7)]},
    )
    queued = await post_csv(
        client, import_url(owner), HEADER + "One,bakery,queue,,,\nTwo,bakery,queue,,,\n"
    )
    assert queued.status_code == 200, queued.text
    posts = (await client.get(f"/api/v1/workspaces/{owner.workspace_id}/posts")).json()["items"]
    times = sorted(p["scheduled_at"] for p in posts)
    assert len(set(times)) == 2
    assert all(t.endswith("T10:00:00Z") for t in times)


async def test_ten_thousand_rows_import_in_one_request(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    await add_sandbox_account(client, owner.workspace_id, "bakery")
    rows = "".join(
        f"Post number {n},bakery,{NEXT_YEAR}-03-01 08:{n % 60:02d},UTC,bulk,\n"
        for n in range(10_000)
    )
    response = await post_csv(client, import_url(owner), HEADER + rows)
    assert response.status_code == 200, response.text[:500]
    assert len(response.json()["created"]) == 10_000
    page = (
        await client.get(
            f"/api/v1/workspaces/{owner.workspace_id}/posts", params={"label": "bulk", "limit": 5}
        )
    ).json()
    assert [p["text"] for p in page["items"]] == [f"Post number {n}" for n in range(5)]


async def test_export_csv_can_be_imported_again(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    await add_sandbox_account(client, owner.workspace_id, "bakery")
    content = (
        HEADER
        + f"Round trip; with semicolon,bakery,{NEXT_YEAR}-04-01 12:00,Europe/Berlin,a;b,Spring\n"
    )
    await post_csv(client, import_url(owner), content)
    exported = await client.get(f"/api/v1/workspaces/{owner.workspace_id}/posts/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows[0]["text"] == "Round trip; with semicolon"
    assert rows[0]["accounts"] == "sandbox:bakery"
    assert rows[0]["labels"] == "a;b"
    reimport_csv = io.StringIO()
    writer = csv.DictWriter(
        reimport_csv, fieldnames=["text", "accounts", "time", "timezone", "labels", "campaign"]
    )
    writer.writeheader()
    writer.writerow({k: rows[0][k] for k in writer.fieldnames})
    again = await post_csv(client, import_url(owner), reimport_csv.getvalue())
    assert again.status_code == 200, again.text
    as_json = (
        await client.get(
            f"/api/v1/workspaces/{owner.workspace_id}/posts/export", params={"format": "json"}
        )
    ).json()
    assert {p["scheduled_at"] for p in as_json} == {f"{NEXT_YEAR}-04-01T10:00:00Z"}
    assert len(as_json) == 2


def test_cli_import_reports_bad_lines_and_imports_good_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "POSTWIZARD_DATA_DIR": str(data), "COLUMNS": "200"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [POSTWIZARD, *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )

    assert (
        cli(
            "user",
            "create",
            "--email",
            "o@example.com",
            "--name",
            "O",
            "--password",
            "owner-password-1",
        ).returncode
        == 0
    )
    sandbox = _add_sandbox_account_via_cli_db(data)
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + f"ok,{sandbox},{NEXT_YEAR}-01-01 10:00,UTC,,\nbroken,ghost,,,,\n")
    result = cli("import", str(bad), "--email", "o@example.com")
    assert result.returncode == 1
    assert "line 3" in result.stderr
    assert "ghost" in result.stderr
    assert "nothing was imported" in result.stderr
    dry = cli("import", str(bad), "--email", "o@example.com", "--dry-run")
    assert "1 of 2 rows are valid" in dry.stdout
    good = tmp_path / "good.csv"
    good.write_text(
        HEADER
        + "".join(f"Row {n},{sandbox},{NEXT_YEAR}-01-0{1 + n % 5} 10:00,UTC,,\n" for n in range(50))
    )
    imported = cli("import", str(good), "--email", "o@example.com", "--timezone", "Europe/Berlin")
    assert imported.returncode == 0, imported.stderr
    assert "Imported 50 posts" in imported.stdout
    missing = cli("import", str(tmp_path / "nope.csv"), "--email", "o@example.com")
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr


def _add_sandbox_account_via_cli_db(data: Path) -> str:
    """The CLI has no account command yet; add a sandbox account the way the API does."""
    import asyncio

    from postwizard.accounts.models import SocialAccount
    from postwizard.db.engine import create_engine, create_session_factory
    from postwizard.platforms.networks import Network
    from postwizard.workspaces.models import Workspace

    async def add() -> str:
        from sqlalchemy import select

        engine = create_engine(f"sqlite+aiosqlite:///{data / 'postwizard.db'}")
        async with create_session_factory(engine)() as session:
            workspace = (await session.scalars(select(Workspace))).one()
            session.add(
                SocialAccount(
                    workspace_id=workspace.id,
                    network=Network.SANDBOX,
                    display_name="S",
                    handle="shop",
                )
            )
            await session.commit()
        await engine.dispose()
        return "shop"

    return asyncio.run(add())
