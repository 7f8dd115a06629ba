"""PostgreSQL for the benchmarks: a fresh schema per run (dropped after), real worker processes, waiting on a query."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bot.app import Services, build_services
from bot.clock import SystemClock
from bot.config import load_settings

ROOT = Path(__file__).resolve().parents[2]  # the directory holding the `bot` package


def pg_schema_url(url: str) -> tuple[str, str, str]:
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    conninfo = f"host={parsed.host or 'localhost'} port={parsed.port or 5432} dbname={parsed.database} " \
               f"user={parsed.username or 'postgres'}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return parsed.render_as_string(hide_password=False) + f"?options=-csearch_path%3D{schema}", schema, conninfo



@contextmanager
def fresh_schema(database_url: str) -> Iterator[Services]:
    url, schema, conninfo = pg_schema_url(database_url)
    services = build_services(load_settings(database_url=url), clock=SystemClock(), auto_migrate=True)
    try:
        yield services
    finally:
        services.db.dispose()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def worker_processes(url: str, count: int, env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = [subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT,
                                  env={**os.environ, "DATABASE_URL": url, "LOG_FORMAT": "json", **env},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(count)]
    try:
        yield processes
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)


def wait_until(condition: Callable[[], bool], poll: float = 0.02) -> None:
    while not condition():
        time.sleep(poll)


def scalar(services: Services, query: Any) -> int:
    with services.db.connect() as conn:
        return int(conn.execute(query).scalar_one())
