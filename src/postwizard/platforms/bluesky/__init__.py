"""Bluesky, and any AT Protocol PDS: connect with handle/DID + app password, publish posts with
rich-text facets, images, link cards and threads exactly once, reconcile, and measure.

Modules: `adapter` (the platform), `sign_in` (connect form, session renewal), `session`
(credentials, JWT expiry), `identity` (handle → DID → PDS), `post_record` (the post record,
blob uploads, reply refs), `facets` (links, mentions, tags in UTF-8 byte offsets),
`record_key` (deterministic TIDs, AT URIs), `xrpc` and `errors` (calls and their failures).

Credentials (`AccountRef.credentials`, encrypted at rest):

| key | what |
| --- | --- |
| `identifier` | the handle, DID or e-mail the person typed |
| `app_password` | the app password (to sign in again when the refresh JWT has run out) |
| `did` | the account's DID (`did:plc:…`): its permanent id, the `repo` of every call |
| `handle` | its current handle, for post links (kept fresh by every session renewal) |
| `pds_url` | the PDS hosting the account, from its DID document |
| `access_jwt`, `access_expires_at` | the access JWT (about 2 hours) and its expiry (ISO 8601) |
| `refresh_jwt`, `refresh_expires_at` | the refresh JWT (weeks) and its expiry (ISO 8601) |

Options (`ConnectedAccount.options`, not secret): `service_url` (the server the person named,
default https://bsky.social) and `pds_url`. No limit overrides: Bluesky's limits are the same on
every PDS (they come from the `app.bsky.*` lexicons). Per-post options (`PublishRequest.options`):
`language` ("en" or a list, at most 3: the post's `langs`) and `link_card` (false: no card).

Library choice. The maintained `atproto` SDK is used where it fits: its port of the official
TypeScript SDK's facet detection (which text becomes a link, a mention or a tag, exactly as in
the Bluesky app, with its list of real TLDs) and its handle syntax check. Its `AsyncClient` does
not fit a server publishing for many accounts: it keeps one session per client object and
renews it on its own (PostWizard's engine owns and stores the credentials: `Refreshable`), it
opens its own connection pool per client instead of sharing one, and it folds "could not
connect" and "no answer after sending" into one exception, a difference that decides here
between a plain retry and an unknown outcome. The XRPC calls are therefore plain httpx over
one shared client (`xrpc.py`); TIDs are derived, not random, so the SDK has none to offer.
"""

from postwizard.platforms.bluesky.adapter import (
    DEFAULT_PLC_DIRECTORY_URL,
    DEFAULT_SERVICE_URL,
    DEFAULT_WEB_URL,
    BlueskyPlatform,
)
from postwizard.platforms.bluesky.record_key import record_key
from postwizard.platforms.bluesky.sign_in import CONNECT_FIELDS

__all__ = [
    "CONNECT_FIELDS",
    "DEFAULT_PLC_DIRECTORY_URL",
    "DEFAULT_SERVICE_URL",
    "DEFAULT_WEB_URL",
    "BlueskyPlatform",
    "record_key",
]
