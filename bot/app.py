"""Wiring: settings -> database, classifier, templates, knowledge -> engine. No globals, no import-time work."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy import Engine as DbEngine
from sqlalchemy.exc import OperationalError

from bot.amazon.links import TokenSource, random_tokens
from bot.amazon.vault import TokenVault, VaultError, vault_for
from bot.classify import Classifier, default_phrasings_dir
from bot.clock import Clock, SystemClock, parse_duration
from bot.config import Settings
from bot.engine import Engine
from bot.flowcheck import validate_all
from bot.knowledge import Knowledge
from bot.render import Templates
from bot.runner import Runner
from bot.store import migrate
from bot.store.db import is_sqlite, make_engine
from bot.understanding.second_opinion import missing_settings
from flows.base import Timing


class StartupError(RuntimeError):
    """The service cannot start as configured; the message says what to do."""


@dataclass
class Services:
    settings: Settings
    db: DbEngine
    engine: Engine
    clock: Clock
    vault: TokenVault
    # How calls to Amazon travel: None for the network; scripted chats route them to their local server.
    amazon_transport: httpx.AsyncBaseTransport | None = None


def build_runner(settings: Settings) -> Runner:
    templates = Templates(reply_estimate=settings.strategist_reply_estimate)
    knowledge = Knowledge.load()
    timing = Timing(link_nudge=parse_duration(settings.link_nudge_after),
                    sync_stall=parse_duration(settings.sync_stall_after),
                    business_hours=settings.business_hours, business_timezone=settings.business_timezone)
    runner = Runner(templates, knowledge, timing)
    validate_all(templates, knowledge)
    return runner


def build_services(settings: Settings, *, clock: Clock | None = None, tokens: TokenSource = random_tokens,
                   classifier: Classifier | None = None, runner: Runner | None = None,
                   auto_migrate: bool | None = None) -> Services:
    """Everything a process needs. Migrates SQLite on the fly; PostgreSQL must be migrated by `release`."""
    partial = _partial_amazon(settings) or missing_settings(settings)
    if partial:
        raise StartupError(partial)
    try:
        vault = vault_for(settings)
    except VaultError as exc:
        raise StartupError(str(exc)) from None
    if settings.amazon_live and not settings.spapi_application_id:
        raise StartupError("Amazon credentials are configured but SPAPI_APPLICATION_ID is not: sellers cannot "
                           "finish the SP-API step without it")
    db = make_engine(settings.database_url)
    migrate_now = is_sqlite(settings.database_url) if auto_migrate is None else auto_migrate
    try:
        if migrate_now:
            migrate.upgrade(settings.database_url)
        elif not migrate.is_current(db, settings.database_url):
            raise StartupError("the database is not migrated to the current version: "
                               "run `python -m bot db upgrade` first")
    except OperationalError as exc:
        raise StartupError(f"cannot reach the database ({_safe_url(settings.database_url)}): "
                           f"{str(exc.orig).strip().splitlines()[0]}") from None
    classifier = classifier or Classifier(default_phrasings_dir(), abstain_margin=settings.abstain_margin)
    engine = Engine(db, runner or build_runner(settings), classifier, clock or SystemClock(), settings, tokens)
    return Services(settings=settings, db=db, engine=engine, clock=engine.clock, vault=vault)


def _partial_amazon(settings: Settings) -> str:
    """Why the Amazon settings are half there, or "": a half configuration must not start the stand-in silently."""
    given = {"AMAZON_CLIENT_ID": settings.amazon_client_id, "AMAZON_CLIENT_SECRET": settings.amazon_client_secret,
             "AMAZON_REDIRECT_URI": settings.amazon_redirect_uri}
    missing = [name for name, value in given.items() if not value]
    if settings.amazon_configured and missing:
        return (f"Amazon is partly configured: {', '.join(missing)} not set. Set all three of "
                f"{', '.join(given)} for Amazon, or none of them for the local stand-in")
    if not settings.amazon_configured and (settings.spapi_client_id or settings.spapi_client_secret):
        return ("SPAPI_CLIENT_ID or SPAPI_CLIENT_SECRET is set without the Amazon credentials: set "
                "AMAZON_CLIENT_ID, AMAZON_CLIENT_SECRET and AMAZON_REDIRECT_URI too, or unset them")
    return ""


def _safe_url(url: str) -> str:
    """The URL without its password, fit for an error message."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
