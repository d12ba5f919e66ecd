"""No secret ever reaches the logs: a full flow against a real `postwizard serve` process
(JSON logs at debug level), then its whole output is searched for every secret it handled."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.api_client import DEFAULT_PASSWORD, ApiClient, schedule_post, set_up_owner
from tests.fakes.telegram import FakeTelegram
from tests.server_process import running_server
from tests.support.serving import serving

SECRET_KEY = "instance-secret-key-never-logged-0123456789abcdef"
PUBLISH_TIMEOUT_S = 20


async def test_a_full_run_logs_no_secret(tmp_path: Path) -> None:
    fake = FakeTelegram()
    bot = fake.add_bot()
    channel = fake.add_chat("channel", "Bakery news", username="pw_news", member_count=10)
    fake.set_member(channel, bot, "administrator", can_post_messages=True)
    with (
        serving(fake.app) as telegram_url,
        running_server(
            tmp_path / "data",
            POSTWIZARD_SECRET_KEY=SECRET_KEY,
            POSTWIZARD_TELEGRAM_API_URL=telegram_url,
            POSTWIZARD_LOG_LEVEL="debug",
            POSTWIZARD_RETRY_BASE_SECONDS="0.2",
        ) as server,
    ):
        async with ApiClient(base_url=server.url) as api:
            owner = await set_up_owner(api)
            session_cookie = next(
                cookie.value for cookie in api.cookies.jar if cookie.name != "pw_csrf"
            )
            accounts = f"/api/v1/workspaces/{owner.workspace_id}/accounts"
            sandbox = await api.post(
                f"{accounts}/connect/sandbox", json={"fields": {"handle": "b"}}
            )
            assert sandbox.status_code == 201, sandbox.text
            telegram = await api.post(
                f"{accounts}/connect/telegram",
                json={"fields": {"bot_token": bot.token, "chat_id": "@pw_news"}},
            )
            assert telegram.status_code == 201, telegram.text
            at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
            post_id = await schedule_post(
                api,
                owner.workspace_id,
                [sandbox.json()["id"], telegram.json()["id"]],
                at,
                text="Fresh bread, no secrets",
            )
            post_url = f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}"
            deadline = time.monotonic() + PUBLISH_TIMEOUT_S
            while (await api.get(post_url)).json()["status"] != "published":
                assert time.monotonic() < deadline, (await api.get(post_url)).text
                await asyncio.sleep(0.2)
            assert len(fake.posts) == 1

            created = await api.post("/api/v1/me/tokens", json={"name": "script"})
            assert created.status_code == 201, created.text
            api_token = created.json()["secret"]
            with_token = await api.get(
                "/api/v1/me", headers={"Authorization": f"Bearer {api_token}"}
            )
            assert with_token.status_code == 200
            wrong = await api.post(
                "/api/v1/auth/login",
                json={"email": owner.email, "password": "wrong-" + DEFAULT_PASSWORD},
            )
            assert wrong.status_code in {401, 429}
        log = server.log()

    assert '"message"' in log or '"event"' in log  # JSON lines were captured
    assert "/api/v1/me/tokens" in log  # and they cover the flow
    assert "telegram" in log.lower()
    secrets = {
        "password": DEFAULT_PASSWORD,
        "bot token": bot.token,
        "bot token secret part": bot.token.split(":", 1)[1],
        "API token": api_token,
        "secret key": SECRET_KEY,
        "session cookie": session_cookie,
    }
    leaked = [name for name, value in secrets.items() if value in log]
    assert leaked == [], f"secrets in the logs: {leaked}"
