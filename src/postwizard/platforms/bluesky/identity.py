"""Who an account is and where it lives: handle → DID → the PDS that hosts its repository.

A handle ("alice.bsky.social") is resolved with `com.atproto.identity.resolveHandle` on the
service the person named (bsky.social by default); the DID's document, from the PLC
directory (`did:plc`) or the domain itself (`did:web`), names the account's PDS as the
service `#atproto_pds`. Accounts on bsky.social live on one of many PDS hosts behind it; a
self-hosted account lives on its owner's PDS. Posting goes straight to that PDS.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from postwizard.platforms.bluesky.xrpc import Xrpc, XrpcFailure

# DID syntax from the AT Protocol specification ("did:<method>:<identifier>").
_DID = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$")
_PDS_SERVICE_TYPE = "AtprotoPersonalDataServer"


def is_did(identifier: str) -> bool:
    """Whether `identifier` is a syntactically valid DID."""
    return len(identifier) <= 2048 and _DID.match(identifier) is not None


def is_handle(identifier: str) -> bool:
    """Whether `identifier` is a syntactically valid handle (a domain name)."""
    from atproto_client.models.string_formats import (  # type: ignore[import-untyped]
        is_valid_handle,
    )

    return bool(is_valid_handle(identifier))


def normalize_identifier(raw: str) -> str:
    """The handle (lower-cased, without a leading "@"), DID or e-mail address a person typed;
    ValueError with a sentence for them if it is none of these."""
    identifier = raw.strip()
    if identifier.startswith("did:"):
        if is_did(identifier):
            return identifier
        raise ValueError(f"{identifier!r} is not a valid DID (it should look like did:plc:…).")
    if "@" in identifier.lstrip("@"):
        # createSession also accepts the account's e-mail address.
        return identifier
    handle = identifier.lstrip("@").lower()
    if is_handle(handle):
        return handle
    raise ValueError(
        f"{raw.strip()!r} is not a Bluesky handle; a handle looks like alice.bsky.social "
        "(your full handle, with its domain)."
    )


async def resolve_handle(xrpc: Xrpc, service_url: str, handle: str) -> str | None:
    """The DID that `handle` belongs to, or None when the service knows no such handle.
    Other failures raise `XrpcFailure`."""
    try:
        answer = await xrpc.query(
            service_url, "com.atproto.identity.resolveHandle", params={"handle": handle}
        )
    except XrpcFailure as failure:
        # A PDS answers 400 ("Unable to resolve handle") for a handle nobody has.
        if failure.status == 400:
            return None
        raise
    did = answer.get("did")
    return did if isinstance(did, str) and is_did(did) else None


def did_document_url(did: str, plc_directory_url: str) -> str | None:
    """Where the DID's document is published; None for a DID method PostWizard cannot resolve."""
    if did.startswith("did:plc:"):
        return f"{plc_directory_url.rstrip('/')}/{did}"
    if did.startswith("did:web:"):
        # Only host-level did:web is valid in atproto; a port is written as %3A.
        host = unquote(did.removeprefix("did:web:"))
        return f"https://{host}/.well-known/did.json"
    return None


async def pds_of(xrpc: Xrpc, did: str, plc_directory_url: str) -> str | None:
    """The URL of the PDS hosting `did`, from its DID document; None when the document
    cannot be had or names no PDS (the caller then uses the service the person named)."""
    url = did_document_url(did, plc_directory_url)
    if url is None:
        return None
    try:
        document = await xrpc.get_json(url)
    except XrpcFailure:
        return None
    return pds_from_did_document(document, did)


def pds_from_did_document(document: Any, did: str) -> str | None:
    """The `#atproto_pds` service endpoint of a DID document (as in a session's `didDoc`)."""
    if not isinstance(document, dict) or document.get("id") not in {None, did}:
        return None
    for service in document.get("service") or []:
        if not isinstance(service, dict):
            continue
        if service.get("id") not in {"#atproto_pds", f"{did}#atproto_pds"}:
            continue
        endpoint = service.get("serviceEndpoint")
        if service.get("type") == _PDS_SERVICE_TYPE and isinstance(endpoint, str):
            parts = urlsplit(endpoint)
            if parts.scheme in {"http", "https"} and parts.netloc:
                return endpoint.rstrip("/")
    return None
