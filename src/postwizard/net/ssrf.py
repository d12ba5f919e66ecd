"""The guard every server-side request to a URL a person gave goes through (Mastodon server,
Bluesky PDS, a workspace's AI server): PostWizard must not become a way into the network it
runs in (the cloud metadata service at 169.254.169.254, a database on 10.0.0.5, its own
loopback ports).

`GuardedTransport` wraps httpx's transport, so the host of every request is checked right before
it is sent, redirects included: no redirect from an allowed server can reach a private one. A
host name is resolved and refused when any of its addresses is private, loopback, link-local,
multicast, reserved, unspecified or otherwise not publicly routable (IPv4, IPv6 and IPv4
addresses inside IPv6, such as `::ffff:127.0.0.1`). An administrator can allow such targets:
all of them (`POSTWIZARD_ALLOW_PRIVATE_NETWORK_TARGETS`) or some hosts and CIDRs
(`POSTWIZARD_PRIVATE_NETWORK_ALLOWLIST`).

Remaining risk: the name is resolved here and again by the connection (DNS rebinding between
the two can still reach a private address); the window is a few milliseconds.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from postwizard.config import Settings
from postwizard.net.connection_pools import PooledTransport
from postwizard.platforms.protocol import ConnectError, PermanentError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Refusal = Callable[[str], Exception]
"""Makes the exception a refused target raises, from the message saying why."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_REDIRECTS = 5


class UnsafeTargetError(ConnectError, PermanentError):
    """A URL a person gave leads to an address PostWizard does not connect to. While connecting
    an account it is a 422 at `field`; while publishing it stops the delivery (permanent)."""


@dataclass(frozen=True)
class TargetPolicy:
    """Which non-public targets are allowed anyway."""

    allow_private: bool = False
    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> TargetPolicy:
        hosts, networks = _parse_allowlist(settings.private_network_allowlist)
        return cls(settings.allow_private_network_targets, hosts, networks)

    def permits(self, address: IPAddress) -> bool:
        plain = _unwrapped(address)
        return any(plain in network or address in network for network in self.networks)


def _parse_allowlist(text: str) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    hosts: set[str] = set()
    networks: list[IPNetwork] = []
    for raw in text.split(","):
        entry = raw.strip().lower().strip("[]").rstrip(".")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry)
    return frozenset(hosts), tuple(networks)


def allowlist_problem(text: str) -> str | None:
    """What is wrong with an allow-list setting, None when each entry is a host or a CIDR."""
    for raw in text.split(","):
        entry = raw.strip().lower().strip("[]").rstrip(".")
        if not entry:
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
            continue
        except ValueError:
            pass
        if "/" in entry or " " in entry or ":" in entry:
            return f"{raw.strip()!r} is neither a host name nor an IP address or CIDR"
    return None


def _unwrapped(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or 6to4 IPv6 address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            return inner
    return address


def blocked_reason(address: IPAddress) -> str | None:
    """Why PostWizard does not connect to `address` for a person, None when it is public."""
    plain = _unwrapped(address)
    for candidate in (plain, address):  # the IPv4 inside first: it names the reason
        if candidate.is_unspecified:
            return "unspecified"
        if candidate.is_loopback:
            return "loopback"
        if candidate.is_link_local:
            return "link-local"
        if candidate.is_multicast:
            return "multicast"
        if candidate.is_private:
            return "private"
        if candidate.is_reserved:
            return "reserved"
        if not candidate.is_global:
            return "non-public"
    return None


async def _addresses(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []  # the connection then fails the way an unknown host always does
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in found:
        text = str(sockaddr[0]).split("%", 1)[0]
        addresses.append(ipaddress.ip_address(text))
    return addresses


async def check_target(
    host: str, port: int, policy: TargetPolicy, refuse: Refusal | None = None
) -> None:
    """Raises (`refuse`'s exception, by default `UnsafeTargetError`) when `host` is, or resolves
    to, an address that is not public and that `policy` does not allow."""
    if policy.allow_private:
        return
    name = host.strip().lower().strip("[]").rstrip(".")
    if name in policy.hosts:
        return
    make = refuse or (lambda message: UnsafeTargetError(message))
    for address in await _addresses(name, port):
        reason = blocked_reason(address)
        if reason is not None and not policy.permits(address):
            shown = name if name == str(address) else f"{name} ({address})"
            raise make(
                f"{shown} is a {reason} address: PostWizard does not connect to private networks "
                "on a person's behalf. Use the server's public address, or ask the administrator "
                "to allow it (POSTWIZARD_PRIVATE_NETWORK_ALLOWLIST)"
            )


async def check_url(url: str, policy: TargetPolicy, refuse: Refusal | None = None) -> None:
    """`check_target` for the host of `url` (nothing to check when it has none)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return
    if parsed.host:
        port = parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 443)
        await check_target(parsed.host, port, policy, refuse)


def field_refusal(field: str) -> Refusal:
    """Refusals as `UnsafeTargetError` at a connect form's `field`."""
    return lambda message: UnsafeTargetError(message, field=field)


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that checks every request's host (redirects are requests too) before
    handing it to `inner` (by default httpx's own HTTP transport)."""

    def __init__(
        self,
        policy: TargetPolicy,
        *,
        refuse: Refusal | None = None,
        inner: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits | None = None,
    ) -> None:
        self.policy = policy
        self._refuse = refuse
        self._inner = inner or httpx.AsyncHTTPTransport(
            limits=limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or _DEFAULT_PORTS.get(url.scheme, 443)
        await check_target(url.host, port, self.policy, self._refuse)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def guarded_client(
    policy: TargetPolicy,
    timeout: float,
    *,
    refuse: Refusal | None = None,
    follow_redirects: bool = False,
    headers: Iterable[tuple[str, str]] = (),
) -> httpx.AsyncClient:
    """An `AsyncClient` whose every request, redirects included, goes through the guard; as many
    connections kept alive as the dispatcher makes calls at once, in small pools."""
    return httpx.AsyncClient(
        timeout=timeout,
        transport=GuardedTransport(policy, refuse=refuse, inner=PooledTransport()),
        follow_redirects=follow_redirects,
        max_redirects=MAX_REDIRECTS,
        headers=list(headers),
    )
