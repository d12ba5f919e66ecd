"""Settings, read from `POSTWIZARD_*` environment variables and an optional `.env` file."""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from postwizard.analytics.schedule import DEFAULT_SCHEDULE, CollectionSchedule

# Values people paste from examples; starting with one of these would make every session forgeable.
PLACEHOLDER_SECRETS = frozenset(
    {"changeme", "change-me", "changethis", "secret", "secret-key", "your-secret-key", "replace-me"}
)
MIN_SECRET_LENGTH = 32
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name


class LogFormat(StrEnum):
    AUTO = "auto"  # JSON unless stdout is a terminal
    JSON = "json"
    CONSOLE = "console"


class Settings(BaseSettings):
    """Everything PostWizard can be told; each field is one `POSTWIZARD_<NAME>` variable."""

    model_config = SettingsConfigDict(env_prefix="POSTWIZARD_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"),
        description="Where the SQLite database, media and the generated secret key live.",
    )
    database_url: str = Field(
        default="",
        description="Empty: SQLite file in the data dir. Scale-out: postgresql+asyncpg://user:pass@host/db.",
    )
    redis_url: str = Field(
        default="",
        description="Empty: events stay in-process. Set (redis://...) when running several processes.",
    )
    public_url: str = Field(
        default="",
        description="The address people and networks reach PostWizard at (OAuth redirects, invitation links). Empty: http://HOST:PORT.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="The instance secret (encrypts stored network credentials). Empty: generated into the data dir (mode 0600) on first run.",
    )
    sandbox_url: str = Field(
        default="",
        description="Empty: the sandbox network runs inside this process (store in the data dir). Set to use a standalone `postwizard sandbox`.",
    )
    threads_client_id: str = Field(
        default="",
        description="The Threads app id (Meta App Dashboard, Threads use case). Empty: Threads accounts cannot be connected.",
    )
    threads_client_secret: SecretStr = Field(
        default=SecretStr(""),
        description="The Threads app secret. Never shown or logged.",
    )
    threads_api_version: str = Field(
        default="v1.0",
        description="The Threads API version in request paths (graph.threads.net/v1.0).",
    )
    linkedin_client_id: str = Field(
        default="",
        description="The LinkedIn app's client id. Empty: LinkedIn accounts cannot be connected.",
    )
    linkedin_client_secret: SecretStr = Field(
        default=SecretStr(""),
        description="The LinkedIn app's client secret. Never shown or logged.",
    )
    linkedin_version: str = Field(
        default="202610",
        pattern=r"^\d{6}$",
        description="The LinkedIn-Version header (YYYYMM) sent to LinkedIn's versioned API; LinkedIn retires a version after about a year, then set a newer one.",
    )
    linkedin_organization_pages: bool = Field(
        default=False,
        description="Also connect the LinkedIn pages the person administers (needs the Community Management API product on the LinkedIn app).",
    )
    metrics_schedule: str = Field(
        default=DEFAULT_SCHEDULE,
        description="When a published post's numbers are collected, counted from publishing: offsets, then `every <interval> until <age>`.",
    )
    metrics_account_stats_minutes: int = Field(
        default=60,
        ge=1,
        description="How often an account's followers, following and posts are collected.",
    )
    metrics_refresh_cooldown_seconds: int = Field(
        default=60, ge=0, description='How soon "refresh now" may be asked again for the same post.'
    )
    metrics_retention_days: int = Field(
        default=90,
        ge=1,
        description="Metric snapshots older than this are thinned to one per post per day (the day's latest).",
    )
    analytics_cache_seconds: int = Field(
        default=300,
        ge=1,
        le=86400,
        description="How long dashboard aggregates are cached at most; new metrics clear them sooner.",
    )
    meta_app_id: str = Field(
        default="",
        description="App ID of your Meta app (developers.facebook.com), for Facebook Pages and Instagram. Empty: neither can be connected.",
    )
    meta_app_secret: SecretStr = Field(
        default=SecretStr(""),
        description="App secret of that Meta app. Never shown or logged.",
    )
    graph_api_version: str = Field(
        default="v23.0",
        pattern=r"^v\d+\.\d+$",
        description="The Graph API version PostWizard calls for Facebook and Instagram; Meta retires each about two years after release.",
    )
    x_client_id: str = Field(
        default="",
        description="OAuth 2.0 Client ID of your X developer app (developer.x.com). Empty: X accounts cannot be connected.",
    )
    x_client_secret: SecretStr = Field(
        default=SecretStr(""),
        description="OAuth 2.0 Client Secret of that X app (confidential client). Never shown or logged.",
    )
    x_daily_post_cap: int = Field(
        default=17,
        ge=1,
        description="Posts per X account per 24 hours that PostWizard sends; 17 is the Free access tier's limit, raise it for Basic (100) or Pro.",
    )
    allow_private_network_targets: bool = Field(
        default=False,
        description="Let URLs people give (Mastodon server, Bluesky PDS, a workspace's AI server) reach private, loopback and link-local addresses. Only where every user is trusted.",
    )
    private_network_allowlist: str = Field(
        default="",
        description="Comma-separated hosts and CIDRs (e.g. ollama.lan,10.0.0.0/24) that URLs people give may reach although they are private.",
    )
    worker_heartbeat_seconds: float = Field(
        default=5,
        ge=0.1,
        le=60,
        description="How often a worker records that it is alive; one silent for six beats shows as not alive.",
    )
    api_token_requests_per_minute: int = Field(
        default=300,
        ge=1,
        description="Requests one API token may make each minute; more are answered 429 with Retry-After.",
    )
    ai_generations_per_minute: int = Field(
        default=20,
        ge=1,
        description="AI caption requests (generate, rewrite, adapt, hashtags, translate, alt text) one workspace may make each minute.",
    )
    smtp_host: str = Field(
        default="",
        description="SMTP server for notification emails. Empty: PostWizard sends no email.",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_user: str = Field(default="", description="SMTP login; empty: no authentication.")
    smtp_password: SecretStr = Field(
        default=SecretStr(""), description="SMTP password. Never shown or logged."
    )
    smtp_from: str = Field(
        default="",
        description="Sender address of notification emails, e.g. PostWizard <pw@example.com>.",
    )
    smtp_tls: str = Field(
        default="starttls",
        pattern=r"^(starttls|ssl|none)$",
        description="starttls (port 587), ssl (implicit TLS, port 465) or none (a local relay only).",
    )
    web_push_contact: str = Field(
        default="",
        pattern=r"^$|^(mailto:[^@\s]+@\S+|https://[^/\s]+)$",
        description="Who push services may contact about this instance's Web Push (the VAPID subject): mailto:you@example.com or https://your.host. Empty: the SMTP sender's address, else the https public URL, else mailto:postwizard@localhost.",
    )
    fcm_service_account_file: str = Field(
        default="",
        description="A Firebase service-account JSON file for push to the PostWizard Android app (FCM HTTP v1). Empty: no FCM.",
    )
    fcm_api_url: str = Field(
        default="https://fcm.googleapis.com",
        description="The FCM HTTP v1 API server (overridable for tests).",
    )
    growth_streak_reminder_hour: int = Field(
        default=18,
        ge=0,
        le=23,
        description="The local hour (in the streak's time zone) from which a workspace is reminded, once that day, that nothing is published yet and its posting streak breaks at midnight.",
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org",
        description="The Telegram Bot API server; set it to your own telegram-bot-api server to lift upload limits.",
    )
    worker_concurrency: int = Field(
        default=64, ge=1, le=1000, description="Network calls one dispatcher makes at once."
    )
    lease_seconds: int = Field(
        default=120,
        ge=2,
        description="How long a claimed delivery stays with its worker before another may take it over (and reconcile).",
    )
    call_timeout_seconds: float = Field(
        default=30,
        gt=0,
        description="A network call with no answer by then has an unknown outcome and is reconciled.",
    )
    retry_base_seconds: float = Field(
        default=5,
        gt=0,
        description="First retry delay; later ones grow exponentially with jitter up to 15 minutes.",
    )
    missed_cutoff_hours: float = Field(
        default=6,
        gt=0,
        description="After an outage, deliveries later than this are marked missed instead of published.",
    )
    give_up_hours: float = Field(
        default=24, gt=0, description="Stop retrying a delivery this long after its due time."
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` listens on.")
    log_format: LogFormat = Field(
        default=LogFormat.AUTO, description="auto, json (ECS fields, for ELK) or console."
    )
    log_level: str = Field(default="info", description="debug, info, warning or error.")
    embedded_worker: bool = Field(
        default=True, description="Whether `serve` runs the background worker in the same process."
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest JSON request body accepted."
    )
    max_image_bytes: int = Field(
        default=20_971_520, ge=1024, description="Largest image upload accepted (20 MB)."
    )
    max_video_bytes: int = Field(
        default=536_870_912, ge=1024, description="Largest video upload accepted (512 MB)."
    )
    max_image_pixels: int = Field(
        default=50_000_000,
        ge=1,
        description="Most pixels an image may have (width x height, all frames of an animation together); refuses decompression bombs.",
    )
    session_days: int = Field(default=30, ge=1, description="How long a login lasts.")
    login_attempts_per_minute: int = Field(
        default=5, ge=1, description="Failed logins allowed per email and per address each minute."
    )
    ai_base_url: str = Field(
        default="",
        description="An OpenAI-compatible model server for AI captions (e.g. http://localhost:11434/v1 for Ollama). Empty: the built-in offline assistant, unless a workspace sets its own.",
    )
    ai_api_key: SecretStr = Field(
        default=SecretStr(""),
        description="The model server's API key (none for a local Ollama). Never shown or logged.",
    )
    ai_model: str = Field(
        default="",
        description="The model to ask (e.g. llama3.2, gpt-4o-mini); needed with ai_base_url.",
    )
    ai_timeout_seconds: float = Field(
        default=30, gt=0, le=600, description="How long to wait for the model server's answer."
    )

    @model_validator(mode="after")
    def _ai_model_with_server(self) -> Settings:
        if self.ai_base_url and not self.ai_base_url.startswith(("http://", "https://")):
            raise ValueError("ai_base_url must start with http:// or https://")
        if self.ai_base_url and not self.ai_model:
            raise ValueError("ai_model must name the model to use when ai_base_url is set")
        return self

    @field_validator("metrics_schedule")
    @classmethod
    def _readable_schedule(cls, value: str) -> str:
        CollectionSchedule.parse(value)  # raises ValueError saying what is wrong
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.lower()
        if level not in {"debug", "info", "warning", "error"}:
            raise ValueError("must be one of debug, info, warning, error")
        return level

    @field_validator("secret_key")
    @classmethod
    def _refuse_placeholder(cls, value: SecretStr) -> SecretStr:
        check_secret(value.get_secret_value(), source="POSTWIZARD_SECRET_KEY")
        return value

    @model_validator(mode="after")
    def _lease_outlasts_a_call(self) -> Settings:
        # The lease is renewed before every network call; it must outlast the call by far, or a
        # slow call would let another worker take the delivery over while it is in flight.
        if self.lease_seconds < 2 * self.call_timeout_seconds:
            raise ValueError(
                f"lease_seconds ({self.lease_seconds}) must be at least twice call_timeout_seconds "
                f"({self.call_timeout_seconds})"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'postwizard.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def is_https(self) -> bool:
        return self.effective_public_url.startswith("https://")

    def resolved_secret_key(self) -> str:
        """The configured secret, or the one generated into the data dir on first run."""
        configured = self.secret_key.get_secret_value()
        if configured:
            return configured
        return load_or_create_secret_file(self.data_dir / SECRET_KEY_FILE)


def check_secret(value: str, *, source: str) -> None:
    """Refuse secrets that are known placeholders or too short to be safe (empty means "generate")."""
    if not value:
        return
    if value.strip().lower() in PLACEHOLDER_SECRETS:
        raise ValueError(
            f"{source} is a placeholder; set a random value (e.g. `openssl rand -hex 32`) or leave it empty"
        )
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"{source} must be at least {MIN_SECRET_LENGTH} characters long")


def load_or_create_secret_file(path: Path) -> str:
    """Read the instance secret, creating it with mode 0600 the first time."""
    if path.exists():
        value = path.read_text().strip()
        check_secret(value, source=str(path))
        return value
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once must not write different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_secret_file(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
