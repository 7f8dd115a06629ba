"""Shared fixtures: one trained classifier per run, and databases of both kinds.

Storage and engine tests run on SQLite and on the PostgreSQL at localhost:5432 (user `postgres`).
The suite runs in parallel (pytest-xdist): each test process creates a database of its own on that
server (`connectbot_test_<worker>_<pid>`, dropped at the end), so advisory locks and LISTEN/NOTIFY,
which PostgreSQL scopes to a database, never reach another process's tests; inside it each
PostgreSQL test gets a schema of its own, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy.engine import make_url

from bot.amazon.links import seeded_tokens
from bot.app import Services, build_runner, build_services
from bot.classify import Classifier, default_phrasings_dir
from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.runner import Runner
from bot.understanding.cache import load_or_train
from tests.fakes.host_app import HOST_SECRET
from tests.migrated import MigratedTemplates

# The server and an existing database to connect to while creating the test processes' own.
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
        host = conninfo_to_dict(PG_CONNINFO).get("host", "localhost")
        return f"no PostgreSQL server answers at {host}:5432 ({str(exc).strip().splitlines()[0]})"


def pytest_configure(config: pytest.Config) -> None:
    """In the process that starts the xdist workers: train the classifier once, before they start.

    Each worker then finds the model in the cache (written whole, by a rename) instead of several
    training it at once on a 2-core machine.
    """
    if not hasattr(config, "workerinput") and config.getoption("numprocesses", default=None):
        load_or_train(default_phrasings_dir())


# Modules whose module-scoped fixtures are costly (a model trained in the test process): their tests
# stay on one xdist worker (`--dist loadgroup`), so the fixture is built once, not once per worker.
_ONE_WORKER_MODULES = ("test_understanding_model.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that start processes run first: xdist hands out tests in order, and a long one started
    last keeps every other worker waiting at the end."""
    for item in items:
        if item.path.name in _ONE_WORKER_MODULES:
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session", autouse=True)
def own_token_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The development token key of this test process, for in-process services and the processes they
    start alike: never var/token.key of the checkout, which parallel processes would race to create."""
    path = tmp_path_factory.mktemp("token-key") / "token.key"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOKEN_KEY_FILE", str(path))
        yield


@dataclass(frozen=True)
class PgDatabase:
    conninfo: str  # for psycopg
    url: str  # for SQLAlchemy


@pytest.fixture(scope="session")
def pg_database() -> Iterator[PgDatabase | None]:
    """This test process's own database on the server (None when no server answers)."""
    if postgres_reason():
        yield None
        return
    name = f"connectbot_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PgDatabase(make_conninfo(PG_CONNINFO, dbname=name),
                         make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    finally:
        with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # a killed worker's session too


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "BASE_URL", "AMAZON_CLIENT_ID", "AMAZON_CLIENT_SECRET", "AMAZON_REDIRECT_URI",
                 "SPAPI_APPLICATION_ID", "TOKEN_ENCRYPTION_KEYS", "AMAZON_SANDBOX_URL", "OUTBOX_CUSTOMER_URL",
                 "OUTBOX_STRATEGIST_URL", "OUTBOX_AGENT_URL", "LOG_FORMAT", "TIMER_POLL_SECONDS",
                 "INAPP_IDENTITY_SECRET", "INAPP_ALLOWED_ORIGINS", "API_DOCS", "METRICS_TOKEN",
                 "RATE_LIMIT_IDENTITY_PER_MINUTE", "RATE_LIMIT_IP_PER_MINUTE", "SLACK_BOT_TOKEN",
                 "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "SLACK_TRIAGE_CHANNEL", "SLACK_TEAM_ORGS",
                 "LLM_BASE_URL", "LLM_MODEL", "LLM_API_KEY", "LLM_TIMEOUT_SECONDS", "LLM_CONSULT_BELOW"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier(default_phrasings_dir())


@pytest.fixture(scope="session")
def runner() -> Runner:
    return build_runner(load_settings())


@pytest.fixture
def pg_url(pg_database: PgDatabase | None) -> Iterator[str]:
    """A PostgreSQL URL (this process's database) whose search_path is a fresh schema, dropped afterwards."""
    if pg_database is None:
        pytest.skip(postgres_reason() or "no PostgreSQL server")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_database.conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{pg_database.url}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(pg_database.conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory, pg_database: PgDatabase | None) -> MigratedTemplates:
    """Alembic's result, made once in this test process and copied into each test's database."""
    template_url = None
    if pg_database is not None:
        with psycopg.connect(pg_database.conninfo, autocommit=True) as conn:
            conn.execute('CREATE SCHEMA "migration_template"')
        template_url = f"{pg_database.url}?options=-csearch_path%3Dmigration_template"
    return MigratedTemplates(tmp_path_factory.mktemp("migrated"), template_url,
                             pg_database.conninfo if pg_database else None)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


class ServicesFactory:
    """Builds services on a database the way a process would, and closes them after the test."""

    def __init__(self, url: str, classifier: Classifier, runner: Runner, migrated: MigratedTemplates) -> None:
        self.url, self.classifier, self.runner, self.migrated = url, classifier, runner, migrated
        self.built: list[Services] = []

    def __call__(self, clock: ManualClock | None = None, **settings: object) -> Services:
        if not self.built:
            self.migrated.prepare(self.url)
        settings.setdefault("token_encryption_keys", TEST_TOKEN_KEY)
        settings.setdefault("inapp_identity_secret", HOST_SECRET)
        built = build_services(Settings(database_url=self.url, **settings),  # type: ignore[arg-type]
                               clock=clock or ManualClock(), tokens=seeded_tokens(), classifier=self.classifier,
                               runner=self.runner, auto_migrate=True)
        self.built.append(built)
        return built

    def close(self) -> None:
        for built in self.built:
            if built.engine.second_opinion is not None:
                built.engine.second_opinion.close()
            built.db.dispose()


@pytest.fixture
def make_services(database_url: str, classifier: Classifier, runner: Runner,
                  migrated: MigratedTemplates) -> Iterator[ServicesFactory]:
    factory = ServicesFactory(database_url, classifier, runner, migrated)
    yield factory
    factory.close()


@pytest.fixture
def services(make_services: ServicesFactory) -> Services:
    return make_services()
