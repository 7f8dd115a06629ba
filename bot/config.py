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
    # What a customer is told about a strategist's answer time; kept in one place so it stays true.
    strategist_reply_estimate: str = "within 30 minutes during business hours"

    @property
    def amazon_live(self) -> bool:
        return bool(self.amazon_client_id and self.amazon_client_secret and self.amazon_redirect_uri)


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
