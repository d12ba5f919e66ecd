"""A fake LinkedIn (www.linkedin.com OAuth and api.linkedin.com) for contract tests.

It follows LinkedIn's documentation (learn.microsoft.com/linkedin): 3-legged OAuth
(`GET /oauth/v2/authorization` redirecting back with `code` and `state`, or with
`error=unauthorized_scope_error` for a scope the app's products do not grant;
`POST /oauth/v2/accessToken` for `authorization_code`, single-use and bound to the redirect URI,
and for `refresh_token` when the app has programmatic refresh), `GET /v2/userinfo`, and the
versioned REST API, which insists on `LinkedIn-Version` (400 `VERSION_MISSING` without it, 426
`NONEXISTENT_VERSION` for a version not in `active_versions`): `organizationAcls`,
`organizations`, the Posts API (201 with the URN in `x-restli-id`; `commentary` parsed as
"little" text: an unescaped reserved character cuts the post there, as LinkedIn does, and
`displayed` keeps what readers see), the Images API (initializeUpload → PUT to the upload URL),
the Videos API (initializeUpload with 4 MiB parts → PUT parts answering ETags → finalizeUpload
→ PROCESSING for a few polls → AVAILABLE), the posts finder by author (needs
`X-RestLi-Method: FINDER`; a member's posts need `r_member_social`), share statistics, social
metadata and network sizes. Errors are `{"status", "serviceErrorCode", "code", "message"}`;
401 `EXPIRED_ACCESS_TOKEN`/`REVOKED_ACCESS_TOKEN`/`INVALID_ACCESS_TOKEN`, 403 `ACCESS_DENIED`
for a missing permission, 429 without headers.

`received` records every post created (each applied create once). Fault switches for the next
create only: `fail_next_create` (a status, before applying), `fail_next_create_after_apply`,
`hang_after_next_create` (apply, then answer after the client gave up), `rate_limit_next_create`.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

ACCESS_TTL = timedelta(days=60)
REFRESH_TTL = timedelta(days=365)
PART_BYTES = 4 * 1024 * 1024
MEMBER_SCOPES = frozenset({"openid", "profile", "email", "w_member_social"})
ORGANIZATION_SCOPES = frozenset(
    {"w_organization_social", "r_organization_social", "rw_organization_admin"}
)
RESERVED = frozenset("\\|{}@[]()<>#*_~")
_URL = re.compile(r"https?://[^\s\\]+")
_HASHTAG = re.compile(r"#\w+")


class LinkedInError(Exception):
    def __init__(
        self, status: int, message: str, *, code: str | None = None, service_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.service_code = (
            status,
            message,
            code,
            service_code,
        )

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"status": self.status, "message": self.message}
        if self.code:
            body["code"] = self.code
        if self.service_code is not None:
            body["serviceErrorCode"] = self.service_code
        return JSONResponse(body, status_code=self.status)


def displayed(commentary: str) -> str:
    """What LinkedIn shows for little `commentary`: escapes resolved, hashtags and links as
    they are, and the text cut at the first reserved character that forms no element."""
    out: list[str] = []
    index = 0
    while index < len(commentary):
        character = commentary[index]
        if character == "\\" and index + 1 < len(commentary) and commentary[index + 1] in RESERVED:
            out.append(commentary[index + 1])
            index += 2
            continue
        for pattern in (_URL, _HASHTAG):
            match = pattern.match(commentary, index)
            if match:
                out.append(match.group())
                index = match.end()
                break
        else:
            if character in RESERVED:
                break  # LinkedIn silently truncates the post here
            out.append(character)
            index += 1
    return "".join(out)


@dataclass
class FakeMember:
    sub: str
    given_name: str
    family_name: str

    @property
    def urn(self) -> str:
        return f"urn:li:person:{self.sub}"


@dataclass
class FakeOrganization:
    id: int
    name: str
    vanity: str
    admins: set[str]
    followers: int = 0

    @property
    def urn(self) -> str:
        return f"urn:li:organization:{self.id}"


@dataclass
class FakeToken:
    member: str
    scopes: frozenset[str]
    expires_at: datetime
    revoked: bool = False


@dataclass
class FakeMedia:
    urn: str
    owner: str
    size: int
    status: str = "WAITING_UPLOAD"
    sha256: str | None = None
    parts: list[bytes] = field(default_factory=list)
    etags: list[str] = field(default_factory=list)
    polls_left: int = 0


@dataclass
class FakePost:
    urn: str
    author: str
    commentary: str
    visibility: str
    content: dict[str, Any] | None
    created_at: datetime
    statistics: dict[str, int] = field(default_factory=dict)
    reactions: dict[str, int] = field(default_factory=dict)
    comments: int = 0

    @property
    def displayed(self) -> str:
        return displayed(self.commentary)


class FakeLinkedIn:
    def __init__(
        self, *, client_id: str = "78abcdef", client_secret: str = "WPL_AP1.secret"
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.app_scopes = MEMBER_SCOPES | ORGANIZATION_SCOPES
        self.issue_refresh_tokens = True
        self.active_versions = {"202610", "202609", "202606"}
        self.redirect_uris: list[str] = []
        self.members: dict[str, FakeMember] = {}
        self.organizations: dict[int, FakeOrganization] = {}
        self.codes: dict[str, tuple[str, str, frozenset[str]]] = {}
        self.tokens: dict[str, FakeToken] = {}
        self.refresh_tokens: dict[str, tuple[str, frozenset[str], datetime]] = {}
        self.media: dict[str, FakeMedia] = {}
        self.posts: dict[str, FakePost] = {}
        self.received: list[FakePost] = []
        self.requests: list[tuple[str, str, str | None]] = []
        self.authorizing_member = ""
        self.video_processing_polls = 2
        self.fail_next_create: int | None = None
        self.fail_next_create_after_apply: int | None = None
        self.hang_after_next_create: float | None = None
        self.rate_limit_next_create = False
        self._ids = itertools.count(7_100_000_000_000_000_001)

    # --- Setting up ---------------------------------------------------------------------------

    def add_member(self, sub: str, given: str, family: str) -> FakeMember:
        member = FakeMember(sub, given, family)
        self.members[sub] = member
        self.authorizing_member = self.authorizing_member or sub
        return member

    def add_organization(
        self, id: int, name: str, vanity: str, admins: set[str], followers: int = 0
    ) -> FakeOrganization:
        organization = FakeOrganization(id, name, vanity, admins, followers)
        self.organizations[id] = organization
        return organization

    def issue_token(self, sub: str, scopes: frozenset[str] | None = None) -> str:
        token = "AQV" + secrets.token_urlsafe(30)
        granted = scopes if scopes is not None else self.app_scopes
        self.tokens[token] = FakeToken(sub, granted, datetime.now(UTC) + ACCESS_TTL)
        return token

    def issue_refresh_token(self, sub: str) -> str:
        token = "AQX" + secrets.token_urlsafe(30)
        self.refresh_tokens[token] = (sub, self.app_scopes, datetime.now(UTC) + REFRESH_TTL)
        return token

    def expire(self, token: str) -> None:
        self.tokens[token].expires_at = datetime.now(UTC) - timedelta(seconds=1)

    def revoke(self, token: str) -> None:
        self.tokens[token].revoked = True

    def add_post(self, author: str, commentary: str, *, at: datetime) -> FakePost:
        post = FakePost(f"urn:li:share:{next(self._ids)}", author, commentary, "PUBLIC", None, at)
        self.posts[post.urn] = post
        return post

    # --- Checks -------------------------------------------------------------------------------

    def _token(self, request: Request, scope: str | None) -> FakeToken:
        header = request.headers.get("authorization", "")
        token = self.tokens.get(header.removeprefix("Bearer ").strip())
        if token is None:
            raise LinkedInError(
                401, "Invalid access token", code="INVALID_ACCESS_TOKEN", service_code=65600
            )
        if token.revoked:
            raise LinkedInError(
                401,
                "The token used in the request has been revoked by the user",
                code="REVOKED_ACCESS_TOKEN",
                service_code=65601,
            )
        if token.expires_at <= datetime.now(UTC):
            raise LinkedInError(
                401,
                "The token used in the request has expired",
                code="EXPIRED_ACCESS_TOKEN",
                service_code=65602,
            )
        if scope is not None and scope not in token.scopes:
            raise LinkedInError(
                403,
                f"Not enough permissions to access: {scope}",
                code="ACCESS_DENIED",
                service_code=100,
            )
        return token

    def _rest(self, request: Request, scope: str | None) -> FakeToken:
        version = request.headers.get("linkedin-version")
        if not version:
            raise LinkedInError(
                400,
                "A version must be present. Please specify a version by "
                "adding the LinkedIn-Version header.",
                code="VERSION_MISSING",
            )
        if version not in self.active_versions:
            raise LinkedInError(
                426, f"Requested version {version} is not active", code="NONEXISTENT_VERSION"
            )
        return self._token(request, scope)

    def _may_act_as(self, token: FakeToken, author: str, *, write: bool) -> None:
        member_urn = self.members[token.member].urn
        if author.startswith("urn:li:person:"):
            scope = "w_member_social" if write else "r_member_social"
            allowed = author == member_urn
        else:
            scope = "w_organization_social" if write else "r_organization_social"
            organization = self.organizations.get(int(author.rsplit(":", 1)[1]))
            allowed = organization is not None and member_urn in organization.admins
        if scope not in token.scopes or not allowed:
            raise LinkedInError(
                403,
                f"Not enough permissions to access: {scope} for {author}",
                code="ACCESS_DENIED",
                service_code=100,
            )

    # --- The app ------------------------------------------------------------------------------

    def app(self) -> FastAPI:
        server = self
        app = FastAPI()

        @app.exception_handler(LinkedInError)
        async def linkedin_error(request: Request, error: LinkedInError) -> Response:
            return error.response()

        @app.middleware("http")
        async def record(request: Request, call_next: Any) -> Response:
            server.requests.append(
                (request.method, request.url.path, request.headers.get("linkedin-version"))
            )
            response: Response = await call_next(request)
            return response

        @app.get("/oauth/v2/authorization")
        async def authorize(request: Request) -> Response:
            query = request.query_params
            redirect_uri = query.get("redirect_uri", "")
            if query.get("client_id") != server.client_id or (
                server.redirect_uris and redirect_uri not in server.redirect_uris
            ):
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            scopes = frozenset(query.get("scope", "").split())
            back: dict[str, str] = {"state": query.get("state", "")}
            if not scopes <= server.app_scopes:
                back |= {
                    "error": "unauthorized_scope_error",
                    "error_description": "Scope is not authorized for your application",
                }
            else:
                code = secrets.token_urlsafe(24)
                server.codes[code] = (server.authorizing_member, redirect_uri, scopes)
                back["code"] = code
            return RedirectResponse(f"{redirect_uri}?{urlencode(back)}", status_code=302)

        @app.post("/oauth/v2/accessToken")
        async def access_token(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).items()}
            if form.get("client_id") != server.client_id or form.get("client_secret") != (
                server.client_secret
            ):
                return JSONResponse(
                    {
                        "error": "invalid_client",
                        "error_description": "Client authentication failed",
                    },
                    status_code=401,
                )
            now = datetime.now(UTC)
            if form.get("grant_type") == "authorization_code":
                grant = server.codes.pop(form.get("code", ""), None)
                if grant is None or grant[1] != form.get("redirect_uri"):
                    return JSONResponse(
                        {
                            "error": "invalid_request",
                            "error_description": "Unable to retrieve access token: appid/redirect uri/code "
                            "verifier does not match authorization code. Or "
                            "authorization code expired.",
                        },
                        status_code=400,
                    )
                sub, _, scopes = grant
                refresh = secrets.token_urlsafe(30) if server.issue_refresh_tokens else None
                if refresh:
                    server.refresh_tokens[refresh] = (sub, scopes, now + REFRESH_TTL)
            elif form.get("grant_type") == "refresh_token":
                refresh = form.get("refresh_token", "")
                stored = server.refresh_tokens.get(refresh)
                if stored is None or stored[2] <= now:
                    return JSONResponse(
                        {
                            "error": "invalid_request",
                            "error_description": "The provided authorization grant or refresh token is "
                            "invalid, expired or revoked",
                        },
                        status_code=400,
                    )
                sub, scopes, _ = stored
            else:
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            token = "AQV" + secrets.token_urlsafe(30)
            server.tokens[token] = FakeToken(sub, scopes, now + ACCESS_TTL)
            body: dict[str, Any] = {
                "access_token": token,
                "expires_in": int(ACCESS_TTL.total_seconds()),
                "scope": ",".join(sorted(scopes)),
                "token_type": "Bearer",
            }
            if refresh:
                body |= {
                    "refresh_token": refresh,
                    "refresh_token_expires_in": int(
                        (server.refresh_tokens[refresh][2] - now).total_seconds()
                    ),
                }
            return JSONResponse(body)

        @app.get("/v2/userinfo")
        async def userinfo(request: Request) -> Response:
            token = server._token(request, "openid")
            member = server.members[token.member]
            return JSONResponse(
                {
                    "sub": member.sub,
                    "email_verified": True,
                    "name": f"{member.given_name} {member.family_name}",
                    "given_name": member.given_name,
                    "family_name": member.family_name,
                    "locale": {"country": "US", "language": "en"},
                    "picture": f"https://media.licdn.com/{member.sub}.jpg",
                }
            )

        @app.get("/rest/organizationAcls")
        async def organization_acls(request: Request) -> Response:
            token = server._rest(request, "rw_organization_admin")
            query = request.query_params
            if query.get("q") != "roleAssignee":
                raise LinkedInError(400, "Unsupported finder", code="ILLEGAL_ARGUMENT")
            member = server.members[token.member].urn
            elements = [
                {
                    "roleAssignee": member,
                    "state": "APPROVED",
                    "role": "ADMINISTRATOR",
                    "organization": o.urn,
                }
                for o in server.organizations.values()
                if member in o.admins
            ]
            return JSONResponse(
                {"paging": {"start": 0, "count": 100, "links": []}, "elements": elements}
            )

        @app.get("/rest/organizations/{organization_id}")
        async def organization(organization_id: int, request: Request) -> Response:
            server._rest(request, "rw_organization_admin")
            o = server.organizations[organization_id]
            return JSONResponse({"id": o.id, "localizedName": o.name, "vanityName": o.vanity})

        @app.post("/rest/images")
        async def images(request: Request) -> Response:
            return await server._initialize(request, "image")

        @app.post("/rest/videos")
        async def videos(request: Request) -> Response:
            if request.query_params.get("action") == "finalizeUpload":
                return await server._finalize(request)
            return await server._initialize(request, "video")

        @app.put("/dms-uploads/{kind}/{media_id}/{part}")
        async def upload(kind: str, media_id: str, part: int, request: Request) -> Response:
            media = server.media[f"urn:li:{kind}:{media_id}"]
            if kind == "image":
                server._token(request, None)
                content = await request.body()
                media.sha256 = hashlib.sha256(content).hexdigest()
                media.size = len(content)
                media.status = "AVAILABLE"
                return Response(status_code=201)
            content = await request.body()
            first = part * PART_BYTES
            expected = min(PART_BYTES, media.size - first)
            if len(content) != expected:
                raise LinkedInError(
                    400, f"Part {part} must be {expected} bytes, got {len(content)}"
                )
            media.parts[part] = content
            return Response(status_code=200, headers={"ETag": f"/etag/{media_id}/{part}"})

        @app.get("/rest/images/{urn}")
        @app.get("/rest/videos/{urn}")
        async def read_media(urn: str, request: Request) -> Response:
            server._rest(request, None)
            media = server.media.get(urn)
            if media is None:
                raise LinkedInError(404, f"Not found: {urn}")
            if media.status == "PROCESSING":
                media.polls_left -= 1
                if media.polls_left <= 0:
                    media.status = "AVAILABLE"
            return JSONResponse({"id": urn, "owner": media.owner, "status": media.status})

        @app.post("/rest/posts")
        async def create_post(request: Request) -> Response:
            token = server._rest(request, None)
            if request.headers.get("x-restli-protocol-version") != "2.0.0":
                raise LinkedInError(400, "X-Restli-Protocol-Version 2.0.0 is required")
            body = await request.json()
            missing = [
                k
                for k in ("author", "commentary", "visibility", "distribution", "lifecycleState")
                if k not in body
            ]
            if missing:
                raise LinkedInError(
                    422,
                    "".join(
                        f"ERROR :: /{k} :: field is required but not "
                        "found and has no default value\n"
                        for k in missing
                    ),
                )
            author = str(body["author"])
            server._may_act_as(token, author, write=True)
            commentary = str(body["commentary"])
            if len(displayed(commentary)) > 3000:
                raise LinkedInError(
                    422,
                    f"ERROR :: /commentary :: length "
                    f"{len(displayed(commentary))} exceeds maximum length 3000",
                )
            server._check_content(body.get("content"), author)
            if server.rate_limit_next_create:
                server.rate_limit_next_create = False
                raise LinkedInError(
                    429,
                    "Resource level throttle APPLICATION DAY limit for calls "
                    "to this resource is reached.",
                )
            if server.fail_next_create is not None:
                status, server.fail_next_create = server.fail_next_create, None
                raise LinkedInError(status, "Internal Server Error")
            post = FakePost(
                f"urn:li:share:{next(server._ids)}",
                author,
                commentary,
                str(body["visibility"]),
                body.get("content"),
                datetime.now(UTC),
            )
            server.posts[post.urn] = post
            server.received.append(post)
            if server.fail_next_create_after_apply is not None:
                status, server.fail_next_create_after_apply = (
                    server.fail_next_create_after_apply,
                    None,
                )
                raise LinkedInError(status, "Gateway Timeout")
            if server.hang_after_next_create is not None:
                delay, server.hang_after_next_create = server.hang_after_next_create, None
                await asyncio.sleep(delay)
            return Response(status_code=201, headers={"x-restli-id": post.urn})

        @app.get("/rest/posts")
        async def find_posts(request: Request) -> Response:
            token = server._rest(request, None)
            query = request.query_params
            if request.headers.get("x-restli-method", "").upper() != "FINDER":
                raise LinkedInError(400, "X-RestLi-Method FINDER is required for finders")
            author = query.get("author", "")
            server._may_act_as(token, author, write=False)
            start, count = int(query.get("start", "0")), min(int(query.get("count", "10")), 100)
            posts = sorted(
                (p for p in server.posts.values() if p.author == author),
                key=lambda p: p.created_at,
                reverse=True,
            )
            page = posts[start : start + count]
            return JSONResponse(
                {
                    "paging": {"start": start, "count": count, "total": len(posts), "links": []},
                    "elements": [server._post_json(p) for p in page],
                }
            )

        @app.get("/rest/organizationalEntityShareStatistics")
        async def share_statistics(request: Request) -> Response:
            token = server._rest(request, "rw_organization_admin")
            query = request.query_params
            organization = query.get("organizationalEntity", "")
            server._may_act_as(token, organization, write=False)
            urns = _restli_list(query.get("shares")) + _restli_list(query.get("ugcPosts"))
            elements = []
            for urn in urns:
                post = server.posts.get(urn)
                if post is None or post.author != organization:
                    continue
                elements.append(
                    {
                        "organizationalEntity": organization,
                        "share": urn,
                        "totalShareStatistics": dict(post.statistics),
                    }
                )
            return JSONResponse(
                {"paging": {"start": 0, "count": 10, "links": []}, "elements": elements}
            )

        @app.get("/rest/socialMetadata")
        async def social_metadata(request: Request) -> Response:
            token = server._rest(request, None)
            results = {}
            for urn in _restli_list(request.query_params.get("ids")):
                post = server.posts.get(urn)
                if post is None:
                    continue
                server._may_act_as(token, post.author, write=False)
                results[urn] = {
                    "entity": urn,
                    "commentsState": "OPEN",
                    "reactionSummaries": {
                        t: {"reactionType": t, "count": n} for t, n in post.reactions.items()
                    },
                    "commentSummary": {"count": post.comments, "topLevelCount": post.comments},
                }
            return JSONResponse({"results": results, "statuses": {}, "errors": {}})

        @app.get("/rest/networkSizes/{urn}")
        async def network_size(urn: str, request: Request) -> Response:
            token = server._rest(request, "r_organization_social")
            server._may_act_as(token, urn, write=False)
            organization = server.organizations[int(urn.rsplit(":", 1)[1])]
            return JSONResponse({"firstDegreeSize": organization.followers})

        return app

    # --- Behaviour ----------------------------------------------------------------------------

    async def _initialize(self, request: Request, kind: str) -> Response:
        token = self._rest(request, None)
        if request.query_params.get("action") != "initializeUpload":
            raise LinkedInError(400, "Unsupported action")
        init = (await request.json()).get("initializeUploadRequest") or {}
        owner = str(init.get("owner") or "")
        self._may_act_as(token, owner, write=True)
        media_id = f"C4E10AQ{next(self._ids)}"
        urn = f"urn:li:{kind}:{media_id}"
        base = str(request.base_url).rstrip("/")
        if kind == "image":
            self.media[urn] = FakeMedia(urn, owner, 0)
            value = {
                "uploadUrlExpiresAt": 1,
                "uploadUrl": f"{base}/dms-uploads/image/{media_id}/0",
                "image": urn,
            }
            return JSONResponse({"value": value})
        size = int(init.get("fileSizeBytes") or 0)
        parts = max(1, -(-size // PART_BYTES))
        self.media[urn] = FakeMedia(urn, owner, size, parts=[b""] * parts)
        instructions = [
            {
                "uploadUrl": f"{base}/dms-uploads/video/{media_id}/{n}",
                "firstByte": n * PART_BYTES,
                "lastByte": min(size, (n + 1) * PART_BYTES) - 1,
            }
            for n in range(parts)
        ]
        return JSONResponse(
            {
                "value": {
                    "uploadUrlsExpireAt": 1,
                    "video": urn,
                    "uploadToken": "",
                    "uploadInstructions": instructions,
                }
            }
        )

    async def _finalize(self, request: Request) -> Response:
        self._rest(request, None)
        final = (await request.json()).get("finalizeUploadRequest") or {}
        media = self.media.get(str(final.get("video")))
        if media is None:
            raise LinkedInError(404, "Unknown video")
        media_id = media.urn.rsplit(":", 1)[1]
        expected = [f"/etag/{media_id}/{n}" for n in range(len(media.parts))]
        if final.get("uploadedPartIds") != expected or any(not p for p in media.parts):
            raise LinkedInError(400, "uploadedPartIds do not match the uploaded parts")
        media.sha256 = hashlib.sha256(b"".join(media.parts)).hexdigest()
        media.status = "PROCESSING"
        media.polls_left = self.video_processing_polls
        return Response(status_code=200)

    def _check_content(self, content: Mapping[str, Any] | None, author: str) -> None:
        if not content:
            return
        items = (content.get("multiImage") or {}).get("images") or [content.get("media") or {}]
        for item in items:
            media = self.media.get(str(item.get("id")))
            if media is None or media.owner != author:
                raise LinkedInError(
                    422, f"ERROR :: /content :: media {item.get('id')} not found for this author"
                )
            if media.status != "AVAILABLE":
                raise LinkedInError(
                    422, f"ERROR :: /content :: media {media.urn} is {media.status}"
                )

    def _post_json(self, post: FakePost) -> dict[str, Any]:
        millis = int(post.created_at.timestamp() * 1000)
        body: dict[str, Any] = {
            "id": post.urn,
            "author": post.author,
            "commentary": post.commentary,
            "visibility": post.visibility,
            "lifecycleState": "PUBLISHED",
            "createdAt": millis,
            "publishedAt": millis,
            "lastModifiedAt": millis,
            "distribution": {"feedDistribution": "MAIN_FEED"},
        }
        if post.content:
            body["content"] = post.content
        return body

    def media_sha256(self, post: FakePost) -> list[str | None]:
        content = post.content or {}
        items = (content.get("multiImage") or {}).get("images") or [content.get("media") or {}]
        return [self.media[str(item["id"])].sha256 for item in items if item]


def _restli_list(value: str | None) -> list[str]:
    if not value or not value.startswith("List(") or not value.endswith(")"):
        return []
    return [urn for urn in value[5:-1].split(",") if urn]
