"""A fake AT Protocol PDS (with the app view and PLC directory endpoints PostWizard calls), for
the Bluesky adapter's contract tests.

It follows the reference PDS (bluesky-social/atproto, `packages/pds`) and docs.bsky.app:
XRPC methods at `/xrpc/<nsid>`, JSON bodies, errors as `{"error": "<Name>", "message": "..."}`;
HS256 session JWTs whose `scope` tells an app-password session (`com.atproto.appPass`) from an
account-password one (`com.atproto.access`); an expired access JWT answers 400 `ExpiredToken`
"Token has expired", a bad one 400 `InvalidToken`, a revoked refresh JWT 400 `ExpiredToken`
"Token has been revoked", a wrong password 401 `AuthenticationRequired`; 429
`RateLimitExceeded` with `RateLimit-Limit/-Remaining/-Reset/-Policy` headers; `createRecord`
under an existing key answers 500 `InternalServerError`, as the reference PDS does today
(bluesky-social/atproto#4725; set `duplicate_key_status = 409` for a PDS that names the
error); post records are validated like the lexicon does (300 graphemes / 3000 bytes, facets
inside the text, at most 4 images of at most 1,000,000 bytes, blobs uploaded by the same
account). `GET /plc/<did>` serves DID documents, as plc.directory does.

`records` holds every record it applied, `applied_creates` every create it applied (so a test
proves a post exists once), `duplicate_creates` the creates it refused for an existing key,
`calls` every XRPC call as (nsid, port) so a test sees which server was called. Fault switches
(each for the next matching calls): `fail_next_creates` (503 before applying),
`fail_next_creates_after_apply` (502 from a gateway after applying), `rate_limit_next` (429),
`hang_next_create_s` (apply, then answer after the client gave up: the unknown outcome),
`fail_next_reads` (503 from the app view on getPosts/getProfile);
`expire_access_tokens`, `expire_refresh_tokens`, `revoke_app_password`, `take_down`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import regex
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

POST = "app.bsky.feed.post"
ACCESS_SCOPE = "com.atproto.access"
APP_PASS_SCOPE = "com.atproto.appPass"
REFRESH_SCOPE = "com.atproto.refresh"
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000
MAX_IMAGE_BYTES = 1_000_000
MAX_IMAGES = 4
MAX_UPLOAD_BYTES = 5_000_000  # the reference PDS's default blob upload limit
MAX_GET_POSTS = 25
_TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_GRAPHEME = regex.compile(r"\X")
_SECRET = b"fake-pds-jwt-secret"


class XrpcError(Exception):
    def __init__(
        self, status: int, error: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.headers = headers or {}


@dataclass
class FakeAccount:
    did: str
    handle: str
    password: str
    app_passwords: dict[str, str]  # name -> password
    display_name: str = ""
    email: str = ""
    followers: int = 0
    follows: int = 0
    taken_down: bool = False


@dataclass
class Session:
    did: str
    app_password_name: str | None
    refresh_jti: str
    refresh_token: str
    refresh_expired: bool = False
    revoked: bool = False


@dataclass
class StoredRecord:
    uri: str
    cid: str
    value: dict[str, Any]
    indexed_at: str
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0


@dataclass
class FakeBluesky:
    """State and fault switches; `app` serves it (run it with `tests.support.serving`)."""

    pds_url: str = ""  # what DID documents name as the PDS; set once the server runs
    access_ttl_s: float = 2 * 3600
    refresh_ttl_s: float = 60 * 86400
    max_graphemes: int = MAX_GRAPHEMES
    duplicate_key_status: int = 500
    accounts: dict[str, FakeAccount] = field(default_factory=dict)
    records: dict[tuple[str, str, str], StoredRecord] = field(default_factory=dict)
    blobs: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # cid -> did, mime, size
    applied_creates: list[str] = field(default_factory=list)
    duplicate_creates: list[str] = field(default_factory=list)
    calls: list[tuple[str, int]] = field(default_factory=list)
    sessions: dict[str, Session] = field(default_factory=dict)  # by refresh jti
    # Fault switches.
    fail_next_creates: int = 0
    fail_next_creates_after_apply: int = 0
    rate_limit_next: int = 0
    rate_limit_reset_in_s: int = 120
    rate_limit_with_retry_after_only: bool = False
    hang_next_create_s: float = 0.0
    fail_next_reads: int = 0
    _expired_access: set[str] = field(default_factory=set)
    _issued_access: list[tuple[str, str]] = field(default_factory=list)  # token, refresh jti
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.app = _build_app(self)

    # --- Set-up and inspection ----------------------------------------------------------------

    def add_account(
        self,
        handle: str,
        *,
        app_password: str = "abcd-efgh-ijkl-mnop",
        password: str = "account-password-1",
        display_name: str = "",
        followers: int = 0,
        follows: int = 0,
    ) -> FakeAccount:
        digest = hashlib.sha256(handle.encode()).digest()
        did = "did:plc:" + base64.b32encode(digest).decode().lower()[:24]
        account = FakeAccount(
            did=did,
            handle=handle,
            password=password,
            app_passwords={"postwizard": app_password},
            display_name=display_name,
            email=f"{handle.split('.')[0]}@example.com",
            followers=followers,
            follows=follows,
        )
        self.accounts[did] = account
        return account

    def posts_of(self, did: str) -> list[StoredRecord]:
        """The account's post records, in creation order."""
        return [
            record
            for (repo, collection, _), record in self.records.items()
            if repo == did and collection == POST
        ]

    def record_at(self, uri: str) -> StoredRecord:
        repo, collection, rkey = uri.removeprefix("at://").split("/")
        return self.records[(repo, collection, rkey)]

    def calls_of(self, nsid: str) -> list[int]:
        """The ports of the servers that received `nsid` calls."""
        return [port for name, port in self.calls if name == nsid]

    # --- Fault switches ------------------------------------------------------------------------

    def expire_access_tokens(self) -> None:
        """Every access JWT issued so far answers ExpiredToken from now on."""
        self._expired_access.update(token for token, _ in self._issued_access)

    def expire_refresh_tokens(self) -> None:
        for session in self.sessions.values():
            session.refresh_expired = True

    def revoke_app_password(self, did: str, name: str = "postwizard") -> None:
        """As Settings → App passwords → Delete: the password and every session opened with it
        stop working at once."""
        self.accounts[did].app_passwords.pop(name, None)
        for session in self.sessions.values():
            if session.did == did and session.app_password_name == name:
                session.revoked = True

    def take_down(self, did: str) -> None:
        self.accounts[did].taken_down = True

    # --- Sessions ------------------------------------------------------------------------------

    def open_session(self, account: FakeAccount, app_password_name: str | None) -> dict[str, Any]:
        now = int(time.time())
        jti = f"refresh-{next(self._ids)}"
        scope = APP_PASS_SCOPE if app_password_name else ACCESS_SCOPE
        access = _jwt(
            {
                "scope": scope,
                "sub": account.did,
                "aud": "did:web:fake.pds",
                "iat": now,
                "exp": now + int(self.access_ttl_s),
                "sid": jti,
            }
        )
        refresh = _jwt(
            {
                "scope": REFRESH_SCOPE,
                "sub": account.did,
                "aud": "did:web:fake.pds",
                "iat": now,
                "exp": now + int(self.refresh_ttl_s),
                "jti": jti,
            }
        )
        self.sessions[jti] = Session(account.did, app_password_name, jti, refresh)
        self._issued_access.append((access, jti))
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "did": account.did,
            "handle": account.handle,
            "didDoc": self.did_document(account),
            "email": account.email,
            "emailConfirmed": True,
            "active": True,
        }

    def did_document(self, account: FakeAccount) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": account.did,
            "alsoKnownAs": [f"at://{account.handle}"],
            "verificationMethod": [],
            "service": [
                {
                    "id": "#atproto_pds",
                    "type": "AtprotoPersonalDataServer",
                    "serviceEndpoint": self.pds_url,
                }
            ],
        }

    def authenticate(self, request: Request) -> FakeAccount:
        """The account an access JWT belongs to, or the PDS's error for it."""
        token = _bearer(request)
        claims = _verify(token)
        if claims.get("scope") not in {ACCESS_SCOPE, APP_PASS_SCOPE}:
            raise XrpcError(400, "InvalidToken", "Bad token scope")
        if token in self._expired_access or claims["exp"] < time.time():
            raise XrpcError(400, "ExpiredToken", "Token has expired")
        session = self.sessions.get(str(claims.get("sid")))
        if session is not None and session.revoked:
            raise XrpcError(401, "AuthenticationRequired", "Token has been revoked")
        account = self.accounts[claims["sub"]]
        if account.taken_down:
            raise XrpcError(401, "AccountTakedown", "Account has been taken down")
        return account

    def find_account(self, actor: str) -> FakeAccount | None:
        for account in self.accounts.values():
            if actor in {account.did, account.handle} or (account.email and actor == account.email):
                return account
        return None

    def next_cid(self, data: bytes) -> str:
        return "bafyrei" + base64.b32encode(hashlib.sha256(data).digest()).decode().lower()[:52]


def _jwt(claims: dict[str, Any]) -> str:
    def encode(part: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    signing_input = f"{encode({'typ': 'at+jwt', 'alg': 'HS256'})}.{encode(claims)}"
    signature = hmac.new(_SECRET, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _verify(token: str) -> dict[str, Any]:
    try:
        signing_input, signature = token.rsplit(".", 1)
        expected = hmac.new(_SECRET, signing_input.encode(), hashlib.sha256).digest()
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        if not hmac.compare_digest(expected, given):
            raise ValueError("bad signature")
        payload = signing_input.split(".")[1]
        claims: dict[str, Any] = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
    except (ValueError, IndexError) as error:
        raise XrpcError(400, "InvalidToken", "Token could not be verified") from error
    return claims


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        raise XrpcError(401, "AuthMissing", "Authentication Required")
    return header.removeprefix("Bearer ")


def _invalid(message: str) -> XrpcError:
    return XrpcError(400, "InvalidRequest", message)


def _build_app(fake: FakeBluesky) -> FastAPI:
    app = FastAPI()

    @app.exception_handler(XrpcError)
    async def xrpc_error(_: Request, error: XrpcError) -> JSONResponse:
        return JSONResponse(
            {"error": error.error, "message": error.message},
            status_code=error.status,
            headers=error.headers,
        )

    @app.middleware("http")
    async def log_calls(request: Request, call_next: Any) -> Any:
        if request.url.path.startswith("/xrpc/"):
            fake.calls.append((request.url.path.removeprefix("/xrpc/"), request.url.port or 0))
        return await call_next(request)

    @app.get("/plc/{did}")
    async def plc_document(did: str) -> JSONResponse:
        account = fake.accounts.get(did)
        if account is None:
            return JSONResponse({"message": f"DID not registered: {did}"}, status_code=404)
        return JSONResponse(fake.did_document(account))

    @app.get("/xrpc/com.atproto.identity.resolveHandle")
    async def resolve_handle(handle: str) -> dict[str, Any]:
        account = fake.find_account(handle.lower())
        if account is None or account.handle != handle.lower():
            raise _invalid("Unable to resolve handle")
        return {"did": account.did}

    @app.post("/xrpc/com.atproto.server.createSession")
    async def create_session(request: Request) -> dict[str, Any]:
        body = await request.json()
        identifier, password = str(body.get("identifier", "")), str(body.get("password", ""))
        account = fake.find_account(identifier.lower() if "@" not in identifier else identifier)
        if account is None:
            raise XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")
        if account.taken_down:
            raise XrpcError(401, "AccountTakedown", "Account has been taken down")
        if hmac.compare_digest(password, account.password):
            return fake.open_session(account, None)
        for name, app_password in account.app_passwords.items():
            if hmac.compare_digest(password, app_password):
                return fake.open_session(account, name)
        raise XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")

    @app.post("/xrpc/com.atproto.server.refreshSession")
    async def refresh_session(request: Request) -> dict[str, Any]:
        claims = _verify(_bearer(request))
        if claims.get("scope") != REFRESH_SCOPE:
            raise XrpcError(400, "InvalidToken", "Bad token scope")
        session = fake.sessions.get(str(claims.get("jti")))
        if session is None:
            raise XrpcError(400, "ExpiredToken", "Token has been revoked")
        if session.refresh_expired or claims["exp"] < time.time():
            raise XrpcError(400, "ExpiredToken", "Token has expired")
        if session.revoked:
            raise XrpcError(400, "ExpiredToken", "Token has been revoked")
        account = fake.accounts[session.did]
        if account.taken_down:
            raise XrpcError(401, "AccountTakedown", "Account has been taken down")
        del fake.sessions[session.refresh_jti]  # rotated: the old refresh JWT is spent
        return fake.open_session(account, session.app_password_name)

    @app.post("/xrpc/com.atproto.server.deleteSession")
    async def delete_session(request: Request) -> JSONResponse:
        claims = _verify(_bearer(request))
        fake.sessions.pop(str(claims.get("jti")), None)
        return JSONResponse(None)

    @app.post("/xrpc/com.atproto.repo.uploadBlob")
    async def upload_blob(request: Request) -> dict[str, Any]:
        account = fake.authenticate(request)
        data = await request.body()
        if len(data) > MAX_UPLOAD_BYTES:
            raise XrpcError(413, "PayloadTooLargeError", "request entity too large")
        mime = request.headers.get("content-type", "application/octet-stream")
        cid = "bafkrei" + base64.b32encode(hashlib.sha256(data).digest()).decode().lower()[:52]
        fake.blobs[cid] = (account.did, mime, len(data))
        return {
            "blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(data)}
        }

    @app.post("/xrpc/com.atproto.repo.createRecord")
    async def create_record(request: Request) -> dict[str, Any]:
        account = fake.authenticate(request)
        if fake.rate_limit_next > 0:
            fake.rate_limit_next -= 1
            raise _rate_limited(fake)
        body = await request.json()
        if body.get("repo") not in {account.did, account.handle}:
            raise XrpcError(401, "AuthenticationRequired", "Authentication Required")
        collection, record = body.get("collection"), body.get("record")
        if collection != POST or not isinstance(record, dict):
            raise _invalid("Unsupported collection or record")
        rkey = str(body.get("rkey") or _now_tid())
        if not _TID.match(rkey):
            raise _invalid(f"Invalid record key for {POST}: {rkey}")
        _validate_post(fake, account, record)
        if fake.fail_next_creates > 0:
            fake.fail_next_creates -= 1
            raise XrpcError(503, "InternalServerError", "Service temporarily unavailable")
        key = (account.did, POST, rkey)
        uri = f"at://{account.did}/{POST}/{rkey}"
        if key in fake.records:
            fake.duplicate_creates.append(uri)
            if fake.duplicate_key_status == 409:
                raise XrpcError(409, "RecordAlreadyExists", f"Record already exists: {uri}")
            raise XrpcError(500, "InternalServerError", "Internal Server Error")
        cid = fake.next_cid(json.dumps(record, sort_keys=True).encode())
        fake.records[key] = StoredRecord(uri, cid, record, _now_iso())
        fake.applied_creates.append(uri)
        if fake.fail_next_creates_after_apply > 0:
            fake.fail_next_creates_after_apply -= 1
            raise XrpcError(502, "UpstreamFailure", "Bad Gateway")
        if fake.hang_next_create_s > 0:
            hang, fake.hang_next_create_s = fake.hang_next_create_s, 0.0
            await asyncio.sleep(hang)
        return {
            "uri": uri,
            "cid": cid,
            "commit": {"cid": fake.next_cid(uri.encode()), "rev": _now_tid()},
            "validationStatus": "valid",
        }

    @app.get("/xrpc/com.atproto.repo.getRecord")
    async def get_record(repo: str, collection: str, rkey: str) -> dict[str, Any]:
        account = fake.find_account(repo)
        did = account.did if account else repo
        stored = fake.records.get((did, collection, rkey))
        if stored is None:
            raise XrpcError(
                400, "RecordNotFound", f"Could not locate record: at://{did}/{collection}/{rkey}"
            )
        return {"uri": stored.uri, "cid": stored.cid, "value": stored.value}

    @app.get("/xrpc/app.bsky.feed.getPosts")
    async def get_posts(request: Request) -> dict[str, Any]:
        fake.authenticate(request)
        _app_view_fault(fake)
        uris = request.query_params.getlist("uris")
        if len(uris) > MAX_GET_POSTS:
            raise _invalid(f"Error: uris must not have more than {MAX_GET_POSTS} elements")
        posts = []
        for uri in uris:
            try:
                stored = fake.record_at(uri)
            except (KeyError, ValueError):
                continue
            author = fake.accounts[uri.removeprefix("at://").split("/")[0]]
            posts.append(
                {
                    "uri": stored.uri,
                    "cid": stored.cid,
                    "author": {"did": author.did, "handle": author.handle},
                    "record": stored.value,
                    "replyCount": stored.replies,
                    "repostCount": stored.reposts,
                    "likeCount": stored.likes,
                    "quoteCount": stored.quotes,
                    "indexedAt": stored.indexed_at,
                }
            )
        return {"posts": posts}

    @app.get("/xrpc/app.bsky.actor.getProfile")
    async def get_profile(request: Request, actor: str) -> dict[str, Any]:
        fake.authenticate(request)
        _app_view_fault(fake)
        account = fake.find_account(actor)
        if account is None:
            raise _invalid("Profile not found")
        profile: dict[str, Any] = {
            "did": account.did,
            "handle": account.handle,
            "followersCount": account.followers,
            "followsCount": account.follows,
            "postsCount": len(fake.posts_of(account.did)),
        }
        if account.display_name:
            profile["displayName"] = account.display_name
        return profile

    return app


def _app_view_fault(fake: FakeBluesky) -> None:
    if fake.fail_next_reads > 0:
        fake.fail_next_reads -= 1
        # What the PDS answers when the app view it proxies to is down.
        raise XrpcError(502, "UpstreamFailure", "Upstream service unreachable")


def _rate_limited(fake: FakeBluesky) -> XrpcError:
    reset = int(time.time()) + fake.rate_limit_reset_in_s
    if fake.rate_limit_with_retry_after_only:
        headers = {"Retry-After": str(fake.rate_limit_reset_in_s)}
    else:
        headers = {
            "RateLimit-Limit": "5000",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": "5000;w=3600",
        }
    return XrpcError(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)


def _validate_post(fake: FakeBluesky, account: FakeAccount, record: dict[str, Any]) -> None:
    """What lexicon validation of `app.bsky.feed.post` (and the blob checks) refuse."""
    prefix = "Invalid app.bsky.feed.post record:"
    if record.get("$type") not in {None, POST}:
        raise _invalid(f"{prefix} Record/$type must be {POST}")
    text = record.get("text")
    if not isinstance(text, str):
        raise _invalid(f'{prefix} Record must have the property "text"')
    if len(text.encode()) > MAX_TEXT_BYTES:
        raise _invalid(f"{prefix} Record/text must not be longer than {MAX_TEXT_BYTES} characters")
    if len(_GRAPHEME.findall(text)) > fake.max_graphemes:
        raise _invalid(
            f"{prefix} Record/text must not be longer than {fake.max_graphemes} graphemes"
        )
    try:
        datetime.fromisoformat(str(record.get("createdAt")))
    except ValueError as error:
        raise _invalid(f"{prefix} Record/createdAt must be an valid atproto datetime") from error
    if len(record.get("langs", [])) > 3:
        raise _invalid(f"{prefix} Record/langs must not have more than 3 elements")
    text_bytes = len(text.encode())
    for number, facet in enumerate(record.get("facets", [])):
        index = facet.get("index", {})
        start, end = index.get("byteStart"), index.get("byteEnd")
        if not (
            isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= text_bytes
        ):
            raise _invalid(f"{prefix} Record/facets/{number}/index is outside the text")
        for feature in facet.get("features", []):
            kind = feature.get("$type")
            needed = {
                "app.bsky.richtext.facet#link": "uri",
                "app.bsky.richtext.facet#mention": "did",
                "app.bsky.richtext.facet#tag": "tag",
            }.get(kind)
            if needed is None or not isinstance(feature.get(needed), str):
                raise _invalid(f"{prefix} Record/facets/{number}/features has an invalid feature")
    embed = record.get("embed")
    if isinstance(embed, dict) and embed.get("$type") == "app.bsky.embed.images":
        images = embed.get("images", [])
        if len(images) > MAX_IMAGES:
            raise _invalid(
                f"{prefix} Record/embed/images must not have more than {MAX_IMAGES} elements"
            )
        for image in images:
            if not isinstance(image.get("alt"), str):
                raise _invalid(f'{prefix} Record/embed/images/0 must have the property "alt"')
            cid = image.get("image", {}).get("ref", {}).get("$link")
            blob = fake.blobs.get(cid)
            if blob is None or blob[0] != account.did:
                raise _invalid(f"Could not find blob: {cid}")
            if not blob[1].startswith("image/"):
                raise XrpcError(
                    400,
                    "InvalidMimeType",
                    f"Wrong type of file. It is {blob[1]} but it must match image/*.",
                )
            if blob[2] > MAX_IMAGE_BYTES:
                raise XrpcError(
                    400,
                    "BlobTooLarge",
                    f"This file is too large. It is {blob[2] / 1_000_000:.2f}MB but the maximum "
                    f"size is {MAX_IMAGE_BYTES / 1_000_000:.2f}MB.",
                )
    elif isinstance(embed, dict) and embed.get("$type") == "app.bsky.embed.external":
        external = embed.get("external", {})
        if not all(isinstance(external.get(key), str) for key in ("uri", "title", "description")):
            raise _invalid(f"{prefix} Record/embed/external must have uri, title and description")
    reply = record.get("reply")
    if reply is not None:
        for part in ("root", "parent"):
            ref = reply.get(part, {})
            if not (isinstance(ref.get("uri"), str) and isinstance(ref.get("cid"), str)):
                raise _invalid(f"{prefix} Record/reply/{part} must be a strongRef")


def _now_iso() -> str:
    return datetime.now().astimezone().isoformat()


def _now_tid() -> str:
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    value = (time.time_ns() // 1000) << 10
    digits = []
    while value:
        value, digit = divmod(value, 32)
        digits.append(alphabet[digit])
    return "".join(reversed(digits)).rjust(13, "2")
