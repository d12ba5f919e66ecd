"""X (Twitter) through the X API v2: connect with OAuth 2.0 Authorization Code + PKCE, renew
tokens, publish posts with media and threads, reconcile, measure.

Modules: `oauth` (PKCE, the token endpoint, refresh), `api` (requests as one account and their
transport failures), `errors` (X's problem-details answers mapped to the engine's errors),
`media` (the v2 chunked upload, processing, alt text), `reconcile` (finding a post whose answer
was lost, through X's rewriting of links), `adapter` (the platform).

`AccountRef.credentials` (encrypted at rest):

| key | what |
| --- | --- |
| `access_token` | the OAuth 2.0 user access token (two hours) |
| `refresh_token` | renews it; X answers a new one on every refresh (the engine stores it) |
| `expires_at` | when the access token runs out (ISO 8601) |
| `scope` | the scopes X granted, space-separated |
| `user_id` | the account's numeric id (also in options) |

`AccountRef.options` (`ConnectedAccount.options`, not secret): `user_id`, `username` (for post
links). No limit overrides: the 280-character limit is the same for every account PostWizard
publishes for (longer posts need a paid subscription and are not offered through this API
path).

Library choice. Tweepy is synchronous for media and does not know the v2 upload endpoints;
X's own SDK (`xdk`) is synchronous (requests) and raises `raise_for_status` errors that lose
X's problem details; neither tells "could not connect" from "no answer after sending", the
difference between a retry and an unknown outcome here. PostWizard needs about ten documented
endpoints, so the calls are plain httpx over the engine's shared async client.
"""

from postwizard.platforms.x.adapter import (
    DEFAULT_API_URL,
    DEFAULT_AUTHORIZE_URL,
    DEFAULT_WEB_URL,
    FREE_TIER_DAILY_POSTS,
    XPlatform,
)
from postwizard.platforms.x.oauth import DEFAULT_SCOPES

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_AUTHORIZE_URL",
    "DEFAULT_SCOPES",
    "DEFAULT_WEB_URL",
    "FREE_TIER_DAILY_POSTS",
    "XPlatform",
]
