"""The social networks PostWizard can publish to."""

from __future__ import annotations

from enum import StrEnum


class Network(StrEnum):
    """A network a post can be published to; the value is the stable identifier stored and sent
    over the API, the `label` is what a person reads."""

    SANDBOX = "sandbox"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"
    X = "x"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    THREADS = "threads"
    LINKEDIN = "linkedin"
    TELEGRAM = "telegram"
    DISCORD = "discord"

    @property
    def label(self) -> str:
        """The network's name as people write it, e.g. "LinkedIn"."""
        return _LABELS[self]


_LABELS: dict[Network, str] = {
    Network.SANDBOX: "Sandbox",
    Network.MASTODON: "Mastodon",
    Network.BLUESKY: "Bluesky",
    Network.X: "X",
    Network.FACEBOOK: "Facebook",
    Network.INSTAGRAM: "Instagram",
    Network.THREADS: "Threads",
    Network.LINKEDIN: "LinkedIn",
    Network.TELEGRAM: "Telegram",
    Network.DISCORD: "Discord",
}
