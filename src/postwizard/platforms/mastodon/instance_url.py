"""The address of a Mastodon server, from what a person types into the connect form.

People type `mastodon.social`, paste `https://mastodon.social/@alice` from their browser, or
give their handle `@alice@mastodon.social`; all of them mean `https://mastodon.social`. Plain
http is refused except on loopback (a server on this machine, as in tests): the OAuth code and
the access token would otherwise cross the network readable by anyone on the way.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from postwizard.platforms.protocol import ConnectError

INSTANCE_URL_FIELD = "instance_url"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _refuse(message: str) -> ConnectError:
    return ConnectError(message, field=INSTANCE_URL_FIELD)


def normalize_instance_url(raw: str) -> str:
    """`raw` as `https://host[:port]` (lower-case, Punycode, no path), or `ConnectError`
    naming the `instance_url` field with what is wrong."""
    text = raw.strip()
    if not text:
        raise _refuse("Enter the address of your Mastodon server, for example mastodon.social.")
    if "://" not in text and "@" in text:
        # A handle such as "@alice@mastodon.social": the server is what follows the last "@".
        text = text.rsplit("@", 1)[1]
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise _refuse(f"{raw.strip()!r} is not a server address ({error}).") from error
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise _refuse(f"Use an https:// address for the Mastodon server, not {scheme}://.")
    if parts.username is not None or parts.password is not None:
        raise _refuse("Leave the user name and password out of the server address.")
    host = _ascii_host(parts.hostname or "", raw.strip())
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        raise _refuse(
            f"Use https://{host}: PostWizard sends the account's access token to the server, "
            "which plain http would let anyone on the way read."
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return f"{scheme}://{netloc}"


def _ascii_host(host: str, shown: str) -> str:
    """`host` lower-cased and Punycode-encoded, if it can be a server's name or IP address."""
    host = host.strip().rstrip(".").lower()
    if not host:
        raise _refuse(f"{shown!r} has no server name; it should look like mastodon.social.")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if host == "localhost":
        return host
    try:
        encoded = host.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise _refuse(f"{shown!r} is not a valid server name.") from error
    labels = encoded.split(".")
    if len(labels) < 2 or labels[-1].isdigit() or not all(_LABEL.match(label) for label in labels):
        raise _refuse(
            f"{shown!r} is not a server address; it should look like mastodon.social or "
            "https://example.social."
        )
    return encoded
