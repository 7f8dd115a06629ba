"""Settings from the environment (pydantic-settings). Built by `load_settings()`, never at import."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


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
    timer_batch: int = 20  # due timers a worker fires per transaction (each is still one turn)
    timer_max_attempts: int = 5  # a timer whose firing keeps raising is marked dead after this many tries
    # /metrics counts an open case as overdue when nobody claimed it within this.
    case_overdue_after_minutes: int = 30
    # /readyz wants a worker heartbeat younger than this.
    worker_stale_seconds: float = 30.0
    # Log lines: one JSON object per line ("json"), or "text" for people at a terminal.
    log_format: str = "json"
    # What a customer is told about a strategist's answer time; kept in one place so it stays true.
    strategist_reply_estimate: str = "within 30 minutes during business hours"

    @property
    def amazon_live(self) -> bool:
        return bool(self.amazon_client_id and self.amazon_client_secret and self.amazon_redirect_uri)


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
