"""Mastodon, and servers that speak its API (GoToSocial, Akkoma, Pixelfed where they follow it).

Why hand-written calls and not Mastodon.py: Mastodon.py is well kept, but it is synchronous
(requests), so every call would hold a worker thread, and its media wait sleeps in that thread;
it folds every transport failure into one `MastodonNetworkError`, which hides the one fact the
engine needs, whether the request was sent before the connection failed (a retry is safe) or
after (the status may exist: reconcile first); its default rate-limit mode sleeps inside the call
instead of handing `retry_after` to the engine; and it cannot share the engine's
`httpx.AsyncClient`. PostWizard needs a dozen documented endpoints with form bodies and
`{"error": ...}` answers; with httpx each answer is classified in one small module (`api.py`),
the one place where the engine's invariants are decided.

Modules: `instance_url` (the connect form's one field), `oauth` (app registration, code
exchange, the account and its server's limits), `api` (requests and what their answers mean),
`media` (upload and processing), `reconcile` (finding a status whose answer was lost),
`platform` (the adapter).

`AccountRef.credentials` (encrypted at rest):
  - `access_token`: the OAuth token; it does not expire with time, only when revoked;
  - `instance_url`: `https://host[:port]` of the server (also in options);
  - `account_id`: the account's id on that server (also in options);
  - `client_id`, `client_secret`: PostWizard's app on that server, to revoke the token
    (`POST /oauth/revoke`) when the account is disconnected.

`AccountRef.options` (`ConnectedAccount.options`, not secret): `instance_url`, `account_id` and
`domain` (the handle's domain, which may differ from the web host). The adapter reads
`instance_url` and `account_id` from the options first, then from the credentials.

`PublishRequest.options`: `visibility` (public, unlisted, private, direct), `spoiler_text` (the
content warning), `language` (ISO 639), `sensitive` (bool).
"""

from postwizard.platforms.mastodon.platform import DEFAULT_SCOPES, MastodonPlatform

__all__ = ["DEFAULT_SCOPES", "MastodonPlatform"]
