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
    # What a customer is told about a strategist's answer time; kept in one place so it stays true.
    strategist_reply_estimate: str = "within 30 minutes during business hours"

    @property
    def amazon_live(self) -> bool:
        return bool(self.amazon_client_id and self.amazon_client_secret and self.amazon_redirect_uri)

    @property
    def public_url(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def sandbox_url(self) -> str:
        return (self.amazon_sandbox_url or f"{self.public_url}/sandbox").rstrip("/")


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
