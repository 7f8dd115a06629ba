"""Settings from the environment (pydantic-settings). Built by `load_settings()`, never at import."""

from __future__ import annotations

from pydantic import SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.cases.hours import BusinessHours
from bot.cases.policy import parse_routes
from bot.clock import parse_duration
from bot.understanding.classifier import ABSTAIN_MARGIN


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    # SQLite file by default (the embedded default); PostgreSQL in production:
    # postgresql+psycopg://user@host/db
    database_url: str = "sqlite:///var/connectbot.db"
    # Where customers reach this service; sign-in links are built on it.
    base_url: str = "http://127.0.0.1:8000"
    # How long a sign-in link stays valid.
    link_ttl_minutes: int = 30
    # Amazon Ads sign-in: with these unset the local Amazon stand-in answers instead of Amazon.
    amazon_client_id: str | None = None
    amazon_client_secret: str | None = None
    amazon_redirect_uri: str | None = None
    amazon_scope: str = "advertising::campaign_management"
    spapi_application_id: str | None = None
    # SP-API apps have LwA credentials of their own; unset, the Ads ones are used.
    spapi_client_id: str | None = None
    spapi_client_secret: str | None = None
    # Optional: Amazon falls back to the app's first registered OAuth redirect URI.
    spapi_redirect_uri: str | None = None
    # Amazon accepts consent for a draft (unpublished) SP-API app only with version=beta.
    spapi_draft: bool = True
    # Where the local Amazon stand-in answers when Amazon is not configured (default: {base_url}/sandbox).
    amazon_sandbox_url: str | None = None
    # Calls to Amazon: per-request timeout, attempts for 429/5xx/timeouts, exponential backoff with a cap.
    amazon_timeout_seconds: float = 10.0
    amazon_attempts: int = 3
    amazon_backoff_seconds: float = 0.5
    amazon_backoff_cap_seconds: float = 8.0
    # Fernet keys for refresh tokens at rest, comma-separated, newest first (older ones still decrypt).
    # Unset with the stand-in, a development key is kept in token_key_file; required with Amazon.
    token_encryption_keys: str | None = None
    token_key_file: str = "var/token.key"
    # How often the in-process timer loop looks for due timers.
    timer_poll_seconds: float = 1.0
    # Outbox delivery (bot/outbox.py). An audience with no URL is delivered locally: the row is marked
    # delivered and the widget reads it from the chat API. With a URL, each message is POSTed there
    # with an Idempotency-Key header the receiver must honour (exactly once = at least once + that key).
    outbox_customer_url: str | None = None  # e.g. the platform's in-app push endpoint
    outbox_strategist_url: str | None = None  # e.g. the strategists' channel webhook
    outbox_agent_url: str | None = None
    outbox_timeout_seconds: float = 10.0  # a target that hangs longer is retried later
    outbox_max_attempts: int = 8  # then the row is dead and the strategists are alerted
    outbox_backoff_seconds: float = 2.0  # first retry delay, doubled per attempt ...
    outbox_backoff_cap_seconds: float = 300.0  # ... up to this
    # How long a claimed row stays with its worker; a worker killed mid-delivery gives it up after this.
    # Kept above the timeout so a slow delivery is never claimed twice by live workers.
    outbox_lease_seconds: float = 30.0
    outbox_batch: int = 50  # rows claimed per round
    # Due timers a worker fires per transaction (each still one turn of its conversation): with 100,
    # `bench timers` fired 10,000 at 4-5x the bare transaction rate, with 20 at 3.2x.
    timer_batch: int = 100
    timer_max_attempts: int = 5  # a timer whose firing keeps raising is marked dead after this many tries
    # /metrics counts an open case as overdue when nobody claimed it within this.
    case_overdue_after_minutes: int = 30
    # /readyz wants a worker heartbeat younger than this.
    worker_stale_seconds: float = 30.0
    # Log lines: one JSON object per line ("json"), or "text" for people at a terminal.
    log_format: str = "json"
    # What a customer is told about a strategist's answer time; kept in one place so it stays true.
    strategist_reply_estimate: str = "within 30 minutes during business hours"

    # Cases: an unclaimed case reminds the strategists after CASE_SLA of business time, and goes to
    # STRATEGIST_BACKUP after a second one. Routes pick who is pinged: {"org:acme": "alice", "region:EU": "eu-team"}.
    business_hours: str = "Mon-Fri 09:00-18:00"
    business_timezone: str = "UTC"
    case_sla: str = "30m"
    strategist_routes: dict[str, str] = {}
    strategist_default: str = "data-strategists"
    strategist_backup: str = "data-strategy-leads"

    # Timers: one nudge for a sign-in link not used; a started sync with no progress is flagged before 48 h.
    link_nudge_after: str = "30m"
    sync_stall_after: str = "12h"

    # First-sync status: a signed webhook (POST /hooks/sync, HMAC-SHA256 with this secret; unset: refused),
    # a poller of SYNC_STATUS_URL ("https://platform/api/connections/{connection_id}/sync") every
    # SYNC_POLL_SECONDS, or the simulated platform (default on SQLite when no status URL is set).
    sync_webhook_secret: str | None = None
    sync_status_url: str | None = None
    sync_poll_seconds: float = 60.0
    sync_simulator: bool | None = None
    sync_simulated_duration: str = "10m"

    # Where "back to the conversation" on the callback and stand-in pages leads: the host page that
    # embeds the widget. Unset, the embedded default's mock platform page at {base_url}/.
    inapp_return_url: str | None = None
    # Slack (bot/channels/slack): on when both the bot token and the signing secret are set. SLACK_API_URL is the
    # Web API base (a local fake in tests and demos); SLACK_TRIAGE_CHANNEL the channel id where case cards go;
    # SLACK_TEAM_ORGS maps a customer's Slack team id to their organization ({"T0123": "acme"}); SLACK_APP_TOKEN
    # (xapp-) runs Socket Mode (`python -m bot slack socket`) instead of the public Events URL.
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_triage_channel: str | None = None
    slack_team_orgs: dict[str, str] = {}

    # The in-app chat (bot/channels/inapp): the host application signs each customer's identity as an
    # HS256 JWT with this secret (required with Amazon credentials). Origins that may embed the widget
    # and call the API (comma-separated; they also go into the pages' frame-ancestors).
    inapp_identity_secret: str | None = None
    inapp_allowed_origins: str = ""
    # Open streams: a keep-alive comment this often, and a look at the database this often in case a
    # notification was lost.
    inapp_keepalive_seconds: float = 15.0
    inapp_stream_poll_seconds: float = 5.0
    # The support console (/console, bot/channels/console): staff sign in with OpenID Connect. With no issuer,
    # a local stand-in provider answers at /idp (demos and tests only). Roles come from the ID token's `roles`
    # claim or from CONSOLE_ROLES, JSON of email or group -> agent | strategist. The session cookie is signed
    # with CONSOLE_SESSION_SECRET (made per run when unset) and lasts CONSOLE_SESSION_HOURS.
    console_oidc_issuer: str | None = None
    console_oidc_client_id: str | None = None
    console_oidc_client_secret: str | None = None
    console_roles: str = ""
    console_session_secret: str | None = None
    console_session_hours: float = 8.0
    console_poll_seconds: float = 5.0  # how often a console page reads itself while its live stream is down
    # The report's figures are computed ahead by the worker this often (one worker at a time) and the page reads
    # them; a page that finds none, or none younger than a few of these, computes them itself (and keeps them).
    report_refresh_seconds: float = 60.0
    # Rate limits per minute (0: none), counted in the database so every web process shares them.
    rate_limit_identity_per_minute: int = 120
    rate_limit_ip_per_minute: int = 600
    # /docs, /redoc and /openapi.json are off unless this is true; /metrics wants this bearer token when set.
    api_docs: bool = False
    metrics_token: str | None = None
    # A language model's second opinion on messages the local classifier is unsure of (bot/understanding/
    # second_opinion.py): off unless LLM_BASE_URL is set (any OpenAI-compatible endpoint, the part before
    # /chat/completions). The key is sent as a bearer token and never logged. A call that takes longer than
    # LLM_TIMEOUT_SECONDS leaves the local answer; only messages whose local confidence is under
    # LLM_CONSULT_BELOW are sent.
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = 3.0
    llm_consult_below: float = 0.6
    # A one-question message whose two likeliest topics are closer than this gets "is this about X, or Y?"
    # instead of a guess (bot/which_of.py). 0 turns it off: the default, because on customers' own text no
    # margin's questions replaced more wrong guesses than right ones (bot/understanding/classifier.py).
    abstain_margin: float = ABSTAIN_MARGIN

    @field_validator("case_sla", "link_nudge_after", "sync_stall_after", "sync_simulated_duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        if parse_duration(value).total_seconds() <= 0:
            raise ValueError("must be longer than zero")
        return value

    @field_validator("report_refresh_seconds")
    @classmethod
    def _refresh(cls, value: float) -> float:
        if value < 1:
            raise ValueError("must be at least 1 second")
        return value

    @field_validator("llm_timeout_seconds")
    @classmethod
    def _llm_timeout(cls, value: float) -> float:
        # the customer waits for the turn: a few seconds at most
        if not 0 < value <= 10:
            raise ValueError("must be more than 0 and at most 10 seconds")
        return value

    @field_validator("llm_consult_below", "abstain_margin")
    @classmethod
    def _llm_threshold(cls, value: float) -> float:
        if not 0 <= value <= 1:
            raise ValueError("must be between 0 and 1")
        return value

    @field_validator("strategist_routes")
    @classmethod
    def _routes(cls, value: dict[str, str]) -> dict[str, str]:
        return parse_routes(value)

    @field_validator("business_timezone")
    @classmethod
    def _hours(cls, value: str, info: ValidationInfo) -> str:
        BusinessHours.parse(str(info.data.get("business_hours", "always")), value)
        return value

    @property
    def amazon_live(self) -> bool:
        return bool(self.amazon_client_id and self.amazon_client_secret and self.amazon_redirect_uri)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def amazon_configured(self) -> bool:
        """Any Amazon credential set: the service is meant for real customers, not the stand-in."""
        return bool(self.amazon_client_id or self.amazon_client_secret or self.amazon_redirect_uri)

    @property
    def allowed_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.inapp_allowed_origins.split(",") if o.strip()]

    @property
    def public_url(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def chat_return_url(self) -> str | None:
        """The page with the widget, opened on the chat; None when there is no such page to send people to."""
        if self.inapp_return_url:
            return self.inapp_return_url
        return None if self.amazon_live else f"{self.public_url}/#connectbot"

    @property
    def sandbox_url(self) -> str:
        return (self.amazon_sandbox_url or f"{self.public_url}/sandbox").rstrip("/")


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
