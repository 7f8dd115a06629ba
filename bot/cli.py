"""`python -m bot ...`: serve, worker, chat, flows, db, regions, bench, slack."""

from __future__ import annotations

import errno
import json
import logging
import socket
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="connectbot: Amazon connection support.")
flows_app = typer.Typer(no_args_is_help=True, help="Inspect the conversation flows.")
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print figures.")
keys_app = typer.Typer(no_args_is_help=True, help="Encryption keys for stored Amazon refresh tokens.")
slack_app = typer.Typer(no_args_is_help=True, help="Slack: Socket Mode for local development.")
app.add_typer(flows_app, name="flows")
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")
app.add_typer(keys_app, name="keys")
app.add_typer(slack_app, name="slack")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


LogFormat = Annotated[str | None, typer.Option(help="json (one object per line) or text; default LOG_FORMAT or json")]


def _setup_logs(log_format: str | None) -> None:
    from bot import logs
    from bot.config import load_settings

    try:
        logs.setup(log_format or load_settings().log_format)
    except ValueError as exc:
        _fail(str(exc))


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, log_format: LogFormat = None) -> None:
    """Run the web service (and, on SQLite, the worker loop in-process)."""
    import uvicorn

    from bot.app import StartupError
    from bot.config import load_settings
    from bot.web import create_app

    _setup_logs(log_format)
    listening = _listen(host, port)  # before anything else: a taken port is the commonest reason not to start
    settings = load_settings()
    if settings.base_url == "http://127.0.0.1:8000" and port != 8000:
        settings = load_settings(base_url=f"http://{host}:{port}")
    try:
        web = create_app(settings)
    except StartupError as exc:
        listening.close()
        _fail(str(exc))
        return
    # log_config=None: uvicorn's loggers keep ours (one format, secrets redacted by the handler's filter).
    # Open chat streams never end by themselves: after SIGTERM they get a few seconds, then are closed
    # (the widget reconnects to another process with Last-Event-ID and misses nothing).
    config = uvicorn.Config(web, host=host, port=port, log_level="info", log_config=None,
                            timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[listening])


def _listen(host: str, port: int) -> socket.socket:
    """The server's socket, or one line saying why there is none and how to pick another port."""
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        _fail(f"the address {host!r} cannot be found: pick another with `--host` (`make run HOST=127.0.0.1`)")
    try:
        return socket.create_server((host, port), backlog=2048)
    except OSError as exc:
        reason = "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be opened ({exc.strerror or exc})"
        _fail(f"port {port} on {host} {reason}: pick another with `--port` (`make run PORT=8001`), "
              f"or another address with `--host`")
        raise  # not reached: _fail exits


@slack_app.command("socket")
def slack_socket(log_format: LogFormat = None) -> None:
    """Answer Slack over Socket Mode (SLACK_APP_TOKEN, xapp-) with the worker in-process: no public URL needed."""
    import asyncio

    from bot.app import StartupError, build_services
    from bot.channels.slack.socket import SocketModeUnavailable, check, run_socket_mode
    from bot.config import load_settings

    _setup_logs(log_format)
    try:
        services = build_services(load_settings())
        check(services)
        asyncio.run(run_socket_mode(services))
    except (StartupError, SocketModeUnavailable) as exc:
        _fail(str(exc))


@app.command()
def worker(once: Annotated[bool, typer.Option(help="fire and deliver what is due now, then exit")] = False,
           log_format: LogFormat = None) -> None:
    """Fire due timers and deliver the outbox against DATABASE_URL until stopped (SIGTERM: graceful)."""
    from bot.app import StartupError, build_services
    from bot.config import load_settings
    from bot.worker import run_worker

    _setup_logs(log_format)
    try:
        services = build_services(load_settings())
    except StartupError as exc:
        _fail(str(exc))
        return
    run_worker(services, once=once)


@app.command()
def chat(
    jsonl: Annotated[bool, typer.Option("--jsonl", help="read JSON lines on stdin (chat-jsonl protocol)")] = False,
    database_url: Annotated[str | None, typer.Option(help="database to use instead of a fresh temporary one")] = None,
) -> None:
    """Talk to the bot in the terminal, or drive it with a script (--jsonl)."""
    from bot.amazon.links import seeded_tokens
    from bot.amazon.vault import new_key
    from bot.app import StartupError, build_services
    from bot.channels.jsonl import ScriptRun
    from bot.channels.terminal import run_terminal
    from bot.clock import ManualClock
    from bot.config import load_settings

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from bot import logsafe

    logsafe.install()
    with tempfile.TemporaryDirectory(prefix="connectbot-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'chat.db'}"
        try:
            # A throw-away database gets a throw-away key for its tokens too (with Amazon configured as well).
            settings = load_settings(database_url=url)
            if not database_url and not settings.token_encryption_keys:
                settings = load_settings(database_url=url, token_key_file=str(Path(tmp) / "token.key"),
                                         token_encryption_keys=new_key() if settings.amazon_live else None)
            services = build_services(settings, clock=ManualClock(), tokens=seeded_tokens())
        except StartupError as exc:
            _fail(str(exc))
            return
        try:
            if jsonl:
                code = ScriptRun(services, sys.stdout).feed(sys.stdin)
            else:
                code = run_terminal(services)
        finally:
            services.db.dispose()
    raise typer.Exit(code)


@flows_app.command("diagram")
def flows_diagram(name: Annotated[str | None, typer.Argument(help="one flow; all when left out")] = None,
                  out: Annotated[Path | None, typer.Option(help="write one <flow>.mmd file per flow here")] = None,
                  ) -> None:
    """Print the flows as one Mermaid flowchart (a subgraph per flow), drawn from the flow declarations."""
    import flows
    from bot.flowdiagram import diagram

    chosen = [f for f in flows.FLOWS if name in (None, f.name)]
    if not chosen:
        _fail(f"no flow named {name!r}; flows: {', '.join(f.name for f in flows.FLOWS)}")
    if out is None:
        typer.echo(diagram(chosen), nl=False)
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        for flow in chosen:
            path = out / f"{flow.name}.mmd"
            path.write_text(diagram([flow]), encoding="utf-8")
            typer.echo(str(path))
    except OSError as exc:
        _fail(f"cannot write the diagrams to {out}: {exc.strerror or exc}")


@flows_app.command("check")
def flows_check() -> None:
    """Validate every flow, template and topic; exit 1 listing the problems."""
    from bot.flowcheck import problems
    from bot.knowledge import Knowledge
    from bot.render import Templates

    found = problems(Templates(reply_estimate=""), Knowledge.load())
    for line in found:
        typer.echo(line)
    if found:
        raise typer.Exit(1)
    typer.echo("flows are valid")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate DATABASE_URL to the current schema (the Procfile's release step)."""
    from sqlalchemy.exc import OperationalError

    from bot.config import load_settings
    from bot.store import migrate

    settings = load_settings()
    try:
        migrate.upgrade(settings.database_url)
    except OperationalError as exc:
        _fail(f"cannot reach the database: {str(exc.orig).strip().splitlines()[0]}")
    typer.echo(f"database at revision {migrate.head_revision(settings.database_url)}")


@keys_app.command("new")
def keys_new() -> None:
    """Print a fresh key: put it first in TOKEN_ENCRYPTION_KEYS, keep the old ones after it, then rotate."""
    from bot.amazon.vault import new_key

    typer.echo(new_key())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored refresh token with the first key of TOKEN_ENCRYPTION_KEYS."""
    from sqlalchemy.exc import OperationalError

    from bot.amazon.rotation import rotate_stored_tokens
    from bot.amazon.vault import VaultError, vault_for
    from bot.config import load_settings
    from bot.store.db import make_engine

    settings = load_settings()
    try:
        vault = vault_for(settings)
        report = rotate_stored_tokens(make_engine(settings.database_url), vault)
    except VaultError as exc:
        _fail(str(exc))
        return
    except OperationalError as exc:
        _fail(f"cannot reach the database: {str(exc.orig).strip().splitlines()[0]}")
        return
    typer.echo(f"re-encrypted {report.rotated} refresh token(s) with the newest key")
    if report.unreadable:
        _fail(f"{len(report.unreadable)} token(s) no configured key decrypts (connections "
              f"{', '.join(map(str, report.unreadable))}): put their old key back in TOKEN_ENCRYPTION_KEYS")


@app.command()
def regions(
    country: Annotated[list[str] | None, typer.Argument(
        help="only these marketplaces: code (DE), name (Germany) or domain (amazon.de); several allowed")] = None,
    wide: Annotated[bool, typer.Option("--wide", help="every column: token URL, Ads/SP-API hosts, Central")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON (every field)")] = False,
) -> None:
    """Amazon marketplaces: country, marketplace id, region and sign-in host; unconfirmed rows marked."""
    from bot.amazon.table import UnknownCountry, row, select, table

    try:
        chosen = select(country or [])
    except UnknownCountry as exc:
        _fail(str(exc))
        return
    if as_json:
        typer.echo(json.dumps([row(m) for m in chosen], indent=2))
        return
    for line in table(chosen, wide=wide):
        typer.echo(line)


@bench_app.command("turns")
def bench_turns(
    conversations: int = 200,
    database_url: Annotated[str | None, typer.Option(help="also run on this database (PostgreSQL)")] = None,
    memory_conversations: int = 10_000,
) -> None:
    """Drive scripted journeys through the engine: turns/s, p50/p99 per turn, memory of open conversations."""
    from bot.bench.turns import run_bench

    raise typer.Exit(run_bench(conversations, database_url, memory_conversations))


@bench_app.command("amazon")
def bench_amazon(links: int = 20_000, callbacks: int = 200) -> None:
    """Links minted and opened per second; callback time (exchange + 3 concurrent profile calls) vs the stand-in."""
    from bot.bench.amazon import run_amazon_bench

    raise typer.Exit(run_amazon_bench(links, callbacks))


@bench_app.command("sync")
def bench_sync(
    connections: int = 200,
    database_url: Annotated[str | None, typer.Option(help="also run on this database (PostgreSQL)")] = None,
) -> None:
    """Signed sync webhooks through the app: reports/s, p50/p99, replays refused."""
    from bot.bench.sync import run_sync_bench

    raise typer.Exit(run_sync_bench(connections, database_url))


@bench_app.command("timers")
def bench_timers(
    database_url: Annotated[str, typer.Option(help="PostgreSQL; the bench works in a fresh schema and drops it")],
    timers: int = 10_000,
    workers: int = 2,
) -> None:
    """Seconds for worker processes to fire N due timers, and double fires (must be 0)."""
    from bot.bench.timers import run_timers

    raise typer.Exit(run_timers(database_url, timers, workers))


@bench_app.command("outbox")
def bench_outbox(
    database_url: Annotated[str, typer.Option(help="PostgreSQL; the bench works in a fresh schema and drops it")],
    rate: Annotated[float, typer.Option(help="turns per second")] = 20,
    seconds: float = 30,
    workers: int = 2,
) -> None:
    """Delivery lag p50/p99 under a steady load of turns, over HTTP to a local receiver."""
    from bot.bench.outbox import run_outbox

    raise typer.Exit(run_outbox(database_url, rate, seconds, workers))


@bench_app.command("stream")
def bench_stream(
    streams: int = 1000,
    database_url: Annotated[str | None, typer.Option(help="also run on PostgreSQL (a fresh schema, dropped after)")]
    = None,
    concurrency: Annotated[int, typer.Option(help="SQLite: messages POSTed at a time")] = 8,
) -> None:
    """Open in-app streams on one web process, one message each: commit-to-arrival p50/p99, memory per stream."""
    from bot.bench.stream import run_stream_bench

    raise typer.Exit(run_stream_bench(streams, database_url, concurrency))


@bench_app.command("console")
def bench_console(
    database_url: Annotated[str, typer.Option(help="PostgreSQL; the bench works in a fresh schema and drops it")]
    = "postgresql+psycopg://postgres@localhost/test",
    conversations: int = 100_000,
    cases: int = 10_000,
    rounds: Annotated[int, typer.Option(help="timed GETs per page")] = 30,
    plans: Annotated[bool, typer.Option("--plans", help="EXPLAIN ANALYZE every statement of each page")] = False,
) -> None:
    """The console's queue, conversation and report pages over N seeded conversations: p50/p99 per page."""
    from bot.bench.console import run_console

    raise typer.Exit(run_console(database_url, conversations, cases, rounds, plans))


@bench_app.command("slack")
def bench_slack(
    events: int = 3000,
    rounds: int = 3,
    database_url: Annotated[str | None, typer.Option(help="default: a throw-away SQLite file")] = None,
) -> None:
    """Signed Slack events acked per second and p50/p99 ack time, ours against bare bolt; every event answered once."""
    from bot.bench.slack import run_slack

    raise typer.Exit(run_slack(events, database_url, rounds))


@bench_app.command("understanding")
def bench_understanding(
    path: Annotated[Path, typer.Argument()] = Path("tests/eval/first_messages.jsonl"),
) -> None:
    """First-message topic accuracy on an evaluation set nobody trained on."""
    from bot.bench.understanding import main

    raise typer.Exit(main(path))


@bench_app.command("journeys")
def bench_journeys(
    path: Annotated[Path, typer.Argument()] = Path("tests/eval/journeys_tuning.jsonl"),
) -> None:
    """Whole conversations nobody here wrote: the topic of the first reply to each expected step."""
    from bot.bench.journeys import main

    raise typer.Exit(main(path))


def main() -> None:
    app()
