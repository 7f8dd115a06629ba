"""Shared fixtures: one trained classifier per run, and databases of both kinds.

Storage and engine tests run on SQLite and on the PostgreSQL at localhost:5432 (database `test`,
user `postgres`). Each PostgreSQL test gets a schema of its own, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bot.amazon.links import seeded_tokens
from bot.app import Services, build_runner, build_services
from bot.classify import Classifier, default_phrasings_dir
from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.runner import Runner
from tests.fakes.host_app import HOST_SECRET

PG_CONNINFO = os.environ.get("TEST_PG_CONNINFO", "host=localhost port=5432 dbname=test user=postgres")
PG_URL = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@localhost:5432/test")
# A Fernet key for the tests' refresh tokens (never used outside the suite).
TEST_TOKEN_KEY = "Sq17UTA2LLLKJX93SyqifizkQrXkHpDimNUiPUafQEM="


def postgres_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when a server answers."""
    try:
        with psycopg.connect(PG_CONNINFO, connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return f"no PostgreSQL server answers at localhost:5432 ({str(exc).strip().splitlines()[0]})"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "BASE_URL", "AMAZON_CLIENT_ID", "AMAZON_CLIENT_SECRET", "AMAZON_REDIRECT_URI",
                 "SPAPI_APPLICATION_ID", "TOKEN_ENCRYPTION_KEYS", "AMAZON_SANDBOX_URL", "OUTBOX_CUSTOMER_URL",
                 "OUTBOX_STRATEGIST_URL", "OUTBOX_AGENT_URL", "LOG_FORMAT", "TIMER_POLL_SECONDS",
                 "INAPP_IDENTITY_SECRET", "INAPP_ALLOWED_ORIGINS", "API_DOCS", "METRICS_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier(default_phrasings_dir())


@pytest.fixture(scope="session")
def runner() -> Runner:
    return build_runner(load_settings())


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    reason = postgres_reason()
    if reason:
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


class ServicesFactory:
    """Builds services on a database the way a process would, and closes them after the test."""

    def __init__(self, url: str, classifier: Classifier, runner: Runner) -> None:
        self.url, self.classifier, self.runner = url, classifier, runner
        self.built: list[Services] = []

    def __call__(self, clock: ManualClock | None = None, **settings: object) -> Services:
        settings.setdefault("token_encryption_keys", TEST_TOKEN_KEY)
        settings.setdefault("inapp_identity_secret", HOST_SECRET)
        built = build_services(Settings(database_url=self.url, **settings),  # type: ignore[arg-type]
                               clock=clock or ManualClock(), tokens=seeded_tokens(), classifier=self.classifier,
                               runner=self.runner, auto_migrate=True)
        self.built.append(built)
        return built

    def close(self) -> None:
        for built in self.built:
            built.db.dispose()


@pytest.fixture
def make_services(database_url: str, classifier: Classifier, runner: Runner) -> Iterator[ServicesFactory]:
    factory = ServicesFactory(database_url, classifier, runner)
    yield factory
    factory.close()


@pytest.fixture
def services(make_services: ServicesFactory) -> Services:
    return make_services()
