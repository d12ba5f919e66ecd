"""LinkedIn: members' profiles and the organization pages they administer, through LinkedIn's
versioned REST API (Posts, Images and Videos APIs).

Modules: `api` (versioned requests and what LinkedIn's answers mean), `oauth` (signing in,
the member and their pages, token renewal), `little_text` (escaping the post's commentary),
`media` (image and video uploads), `platform` (the adapter).

`AccountRef.credentials` (encrypted at rest): `access_token`, `expires_at`, and where LinkedIn
grants them `refresh_token`, `refresh_expires_at`; `scope` as granted. One sign-in connects
the member and each page; they share the member's token.

`AccountRef.options` (not secret): `author` (`urn:li:person:...` or
`urn:li:organization:...`), `kind` ("member" or "organization"), `member` (the member's URN).

`PublishRequest.options`: `visibility` (PUBLIC by default, CONNECTIONS, LOGGED_IN).
"""

from postwizard.platforms.linkedin.platform import LinkedInPlatform

__all__ = ["LinkedInPlatform"]
