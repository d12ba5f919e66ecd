"""Which adapter serves which network, and how each network connects; built once per process
from the settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

import httpx
from fastapi import FastAPI

from postwizard.config import Settings
from postwizard.errors import PostWizardError
from postwizard.net.ssrf import TargetPolicy
from postwizard.platforms.bluesky import BlueskyPlatform
from postwizard.platforms.discord import DiscordPlatform
from postwizard.platforms.facebook import FacebookPlatform
from postwizard.platforms.instagram import InstagramPlatform
from postwizard.platforms.linkedin import LinkedInPlatform
from postwizard.platforms.mastodon.platform import MastodonPlatform
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import FormConnector, OAuthConnector, Platform
from postwizard.platforms.sandbox import SandboxPlatform
from postwizard.platforms.telegram import TelegramPlatform
from postwizard.platforms.threads import ThreadsPlatform
from postwizard.platforms.x import XPlatform

IN_PROCESS_SANDBOX_URL = "http://sandbox.internal"

ConnectMethod = Literal["form", "oauth", "unavailable"]


class PlatformRegistry:
    def __init__(
        self,
        platforms: Mapping[Network, Platform],
        unavailable: Mapping[Network, str] | None = None,
    ) -> None:
        self._platforms = dict(platforms)
        # Why a network is not available here (e.g. its developer app is not configured).
        self._unavailable = dict(unavailable or {})

    def unavailable_reason(self, network: Network) -> str | None:
        if network in self._platforms:
            return None
        return self._unavailable.get(
            network, f"{network.label} arrives in a later version of PostWizard."
        )

    def get(self, network: Network) -> Platform:
        platform = self._platforms.get(network)
        if platform is None:
            raise _unavailable(network, "Publishing to", self.unavailable_reason(network))
        return platform

    def connector(self, network: Network) -> FormConnector | OAuthConnector:
        """How accounts of `network` are connected: by a form, or by an OAuth redirect."""
        platform = self._platforms.get(network)
        # OAuth first: an adapter offering both is connected the way its network prefers.
        if isinstance(platform, OAuthConnector):
            return platform
        if isinstance(platform, FormConnector):
            return platform
        raise _unavailable(network, "Connecting", self.unavailable_reason(network))

    def connect_method(self, network: Network) -> ConnectMethod:
        try:
            connector = self.connector(network)
        except PostWizardError:
            return "unavailable"
        return "oauth" if isinstance(connector, OAuthConnector) else "form"

    def provides_metrics(self, network: Network) -> bool | None:
        """Whether the network gives numbers about posts; None when it is not available."""
        platform = self._platforms.get(network)
        return None if platform is None else platform.provides_metrics

    @property
    def sandbox(self) -> SandboxPlatform:
        platform = self._platforms[Network.SANDBOX]
        assert isinstance(platform, SandboxPlatform)
        return platform

    @classmethod
    def from_settings(
        cls, settings: Settings, extra: Mapping[Network, Platform] | None = None
    ) -> tuple[PlatformRegistry, FastAPI | None]:
        """The adapters, and the in-process sandbox app to mount when no sandbox URL is set
        (the embedded default: its own store in the data dir, reached through ASGI, no socket).
        `extra` adds adapters or replaces the default ones (tests, embedding applications)."""
        sandbox_app: FastAPI | None = None
        if settings.sandbox_url:
            sandbox = SandboxPlatform(settings.sandbox_url)
        else:
            from postwizard.sandbox.app import create_sandbox_app

            settings.data_dir.mkdir(parents=True, exist_ok=True)
            sandbox_app = create_sandbox_app(settings.data_dir / "sandbox.db")
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), timeout=30)
            public = f"{settings.effective_public_url}/sandbox"
            sandbox = SandboxPlatform(IN_PROCESS_SANDBOX_URL, client=client, public_url=public)
        # Mastodon, Bluesky and Discord have no fixed API host to configure: every account
        # carries its server (instance, PDS, webhook URL).
        # Their servers are URLs people give: requests to them go through the SSRF guard.
        guard = TargetPolicy.from_settings(settings)
        defaults: dict[Network, Callable[[], Platform]] = {
            Network.MASTODON: lambda: MastodonPlatform(guard=guard),
            Network.BLUESKY: lambda: BlueskyPlatform(guard=guard),
            Network.TELEGRAM: lambda: TelegramPlatform(api_url=settings.telegram_api_url),
            Network.DISCORD: DiscordPlatform,
        }
        apps, unavailable = _developer_app_adapters(settings)
        defaults.update(apps)
        platforms: dict[Network, Platform] = {Network.SANDBOX: sandbox, **(extra or {})}
        for network, make in defaults.items():
            if network not in platforms:
                platforms[network] = make()
        return cls(platforms, unavailable), sandbox_app

    async def aclose(self) -> None:
        for platform in self._platforms.values():
            close = getattr(platform, "aclose", None)
            if close is not None:
                await close()


def _unavailable(network: Network, doing: str, reason: str | None) -> PostWizardError:
    return PostWizardError(
        f"{doing} {network.label} is not available here. {reason or ''}".strip(),
        code="network_unavailable",
    )


def _developer_app_adapters(
    settings: Settings,
) -> tuple[dict[Network, Callable[[], Platform]], dict[Network, str]]:
    """The networks that need the instance's own developer app: their adapters when the app's
    credentials are set, else why they are unavailable (shown on the Accounts page)."""
    makers: dict[Network, Callable[[], Platform]] = {}
    missing: dict[Network, str] = {}

    def needs(network: Network, names: str, anchor: str) -> None:
        missing[network] = (
            f"{network.label} needs your own developer app: set {names} and restart "
            f"(see docs/networks.md#{anchor})."
        )

    if settings.x_client_id:
        makers[Network.X] = lambda: XPlatform(
            client_id=settings.x_client_id,
            client_secret=settings.x_client_secret.get_secret_value(),
            daily_post_cap=settings.x_daily_post_cap,
        )
    else:
        needs(Network.X, "POSTWIZARD_X_CLIENT_ID and POSTWIZARD_X_CLIENT_SECRET", "x")
    meta_secret = settings.meta_app_secret.get_secret_value()
    if settings.meta_app_id and meta_secret:
        app_id, version = settings.meta_app_id, settings.graph_api_version
        makers[Network.FACEBOOK] = lambda: FacebookPlatform(
            app_id=app_id, app_secret=meta_secret, graph_api_version=version
        )
        makers[Network.INSTAGRAM] = lambda: InstagramPlatform(
            app_id=app_id, app_secret=meta_secret, graph_api_version=version
        )
    else:
        for network in (Network.FACEBOOK, Network.INSTAGRAM):
            needs(
                network,
                "POSTWIZARD_META_APP_ID and POSTWIZARD_META_APP_SECRET",
                "facebook-pages-and-instagram-the-meta-app",
            )
    threads_secret = settings.threads_client_secret.get_secret_value()
    if settings.threads_client_id and threads_secret:
        makers[Network.THREADS] = lambda: ThreadsPlatform(
            client_id=settings.threads_client_id,
            client_secret=threads_secret,
            api_version=settings.threads_api_version,
        )
    else:
        needs(
            Network.THREADS,
            "POSTWIZARD_THREADS_CLIENT_ID and POSTWIZARD_THREADS_CLIENT_SECRET",
            "threads",
        )
    linkedin_secret = settings.linkedin_client_secret.get_secret_value()
    if settings.linkedin_client_id and linkedin_secret:
        makers[Network.LINKEDIN] = lambda: LinkedInPlatform(
            client_id=settings.linkedin_client_id,
            client_secret=linkedin_secret,
            version=settings.linkedin_version,
            organization_pages=settings.linkedin_organization_pages,
        )
    else:
        needs(
            Network.LINKEDIN,
            "POSTWIZARD_LINKEDIN_CLIENT_ID and POSTWIZARD_LINKEDIN_CLIENT_SECRET",
            "linkedin",
        )
    return makers, missing
