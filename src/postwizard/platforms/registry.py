"""Which adapter serves which network, built once per process from the settings."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from postwizard.config import Settings
from postwizard.errors import PostWizardError
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import Platform
from postwizard.platforms.sandbox import SandboxPlatform

IN_PROCESS_SANDBOX_URL = "http://sandbox.internal"


class PlatformRegistry:
    def __init__(self, platforms: Mapping[Network, Platform]) -> None:
        self._platforms = dict(platforms)

    def get(self, network: Network) -> Platform:
        platform = self._platforms.get(network)
        if platform is None:
            raise PostWizardError(
                f"Publishing to {network.label} is not available yet in this version of PostWizard.",
                code="network_unavailable",
            )
        return platform

    @property
    def sandbox(self) -> SandboxPlatform:
        platform = self._platforms[Network.SANDBOX]
        assert isinstance(platform, SandboxPlatform)
        return platform

    @classmethod
    def from_settings(cls, settings: Settings) -> tuple[PlatformRegistry, FastAPI | None]:
        """The adapters, and the in-process sandbox app to mount when no sandbox URL is set
        (the embedded default: its own store in the data dir, reached through ASGI, no socket)."""
        if settings.sandbox_url:
            return cls({Network.SANDBOX: SandboxPlatform(settings.sandbox_url)}), None
        from postwizard.sandbox.app import create_sandbox_app

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        sandbox_app = create_sandbox_app(settings.data_dir / "sandbox.db")
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), timeout=30)
        public = f"{settings.effective_public_url}/sandbox"
        sandbox = SandboxPlatform(IN_PROCESS_SANDBOX_URL, client=client, public_url=public)
        return cls({Network.SANDBOX: sandbox}), sandbox_app

    async def aclose(self) -> None:
        for platform in self._platforms.values():
            close = getattr(platform, "aclose", None)
            if close is not None:
                await close()
