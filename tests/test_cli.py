"""The command line as people use it: scripted chat, exit codes, flows, regions, bad databases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = [
    '{"user": {"id": "u1", "org": "acme", "channel": "webchat"}}',
    '{"say": "hi, we\'re a vendor and want to connect our account"}',
    '{"click": "Yes"}',
    '{"say": "we sell on amazon.de and amazon.fr"}',
    '{"amazon": {"outcome": "allow", "profiles": [{"country": "DE", "type": "vendor"}, '
    '{"country": "FR", "type": "vendor"}]}}',
    '{"advance": "49h"}',
]


def _bot(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env=env)


def _bots_at_once(*runs: tuple[list[str], str]) -> list[subprocess.CompletedProcess[str]]:
    """Several `python -m bot` runs side by side (each with its own temporary database), in order."""
    started = [subprocess.Popen([sys.executable, "-m", "bot", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT) for args, _ in runs]
    done = []
    for process, (_, stdin) in zip(started, runs, strict=True):
        out, err = process.communicate(stdin, timeout=120)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def _lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


@pytest.mark.slow
def test_the_protocol_example_runs_and_repeats_exactly() -> None:
    script = "\n".join(EXAMPLE) + "\n"
    first, again = _bots_at_once((["chat", "--jsonl"], script), (["chat", "--jsonl"], script))
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout, "the same script gives the same messages every time"
    out = _lines(first.stdout)
    link = next(m for m in out if "links" in m)
    assert link["line"] == 4 and link["links"][0]["region"] == "EU"  # type: ignore[index]
    last = [m for m in out if m["line"] == 6]
    assert {m["audience"] for m in last} == {"customer", "strategist"}
    assert any(m.get("case", {}).get("reason") == "sync_overdue" for m in last)  # type: ignore[attr-defined]
    assert all(isinstance(m["topic"], str) and m["conversation"] == "c-1" for m in out)


@pytest.mark.slow
def test_bad_lines_are_reported_and_the_run_goes_on() -> None:
    script = "\n".join([
        "{not json", '{"shout": "hi"}', '{"say": "hi", "click": "x"}', '{"click": "Nonsense"}',
        '{"amazon": {"outcome": "allow", "profiles": []}}', '{"advance": "soon"}',
        '{"sync": {"status": "exploded"}}', '{"strategist": {"action": "claim"}}',
        '{"say": "we are a seller, how do i connect?"}',
    ]) + "\n"
    result = _bot("chat", "--jsonl", stdin=script)
    out = _lines(result.stdout)
    errors = [m for m in out if "error" in m]
    assert result.returncode == 2
    assert [e["line"] for e in errors] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert all("Traceback" not in str(e["error"]) for e in errors)
    assert any(m.get("line") == 9 and "text" in m for m in out), "the conversation still works afterwards"


def test_flows_check_and_diagram() -> None:
    assert _bot("flows", "check").returncode == 0
    diagram = _bot("flows", "diagram", "signin")
    assert diagram.returncode == 0 and diagram.stdout.startswith("flowchart TD\n")
    assert "signin_send" in diagram.stdout and "no_profiles" in diagram.stdout
    assert _bot("flows", "diagram", "nope").returncode == 2


def test_regions_lists_every_marketplace_and_marks_unconfirmed_rows() -> None:
    rows = json.loads(_bot("regions", "--json").stdout)
    by_code = {r["code"]: r for r in rows}
    assert by_code["DE"]["region"] == "EU" and by_code["JP"]["authorization_url"].startswith("https://apac.")
    assert by_code["IE"]["confirmed"] is False
    narrow, wide = _bots_at_once((["regions"], ""), (["regions", "--wide"], ""))
    assert "NO: IE (Ireland) unconfirmed" in narrow.stdout and "NO: SA" in wide.stdout
    assert max(len(line) for line in narrow.stdout.splitlines()) < 100, "the default view fits a terminal"
    assert narrow.stdout.split("\n")[0].split() == ["code", "country", "marketplace", "region", "sign-in", "host",
                                                   "confirmed"]
    assert "apac.account.amazon.com" in narrow.stdout and "sellingpartnerapi" not in narrow.stdout
    assert len(rows) == sum(1 for line in wide.stdout.splitlines() if "https://sellingpartnerapi" in line)


def test_regions_filters_by_code_name_or_domain() -> None:
    chosen, unknown, as_json = _bots_at_once((["regions", "de", "Japan", "amazon.co.uk", "www.amazon.com.mx"], ""),
                                             (["regions", "DE", "atlantis"], ""), (["regions", "--json", "IN"], ""))
    codes = [line.split()[0] for line in chosen.stdout.splitlines()[1:] if line.strip()]
    assert chosen.returncode == 0 and codes == ["MX", "UK", "DE", "JP"], chosen.stdout  # in the table's order
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert unknown.stderr.startswith("error: no marketplace matches 'atlantis'") and "Traceback" not in unknown.stderr
    assert [r["name"] for r in json.loads(as_json.stdout)] == ["India"]


def test_an_unreachable_database_is_a_clear_error() -> None:
    result = _bot("chat", "--jsonl", "--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/none", stdin="")
    assert result.returncode == 2
    assert "cannot reach the database" in result.stderr and "Traceback" not in result.stderr


def test_an_unmigrated_database_is_a_clear_error(pg_url: str) -> None:
    result = _bot("chat", "--jsonl", "--database-url", pg_url, stdin="")
    assert result.returncode == 2
    assert "python -m bot db upgrade" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_with_amazon_configured_scripted_links_show_amazon_and_amazon_lines_are_refused() -> None:
    import os

    env = {**os.environ, "AMAZON_CLIENT_ID": "amzn1.application-oa2-client.abc", "AMAZON_CLIENT_SECRET": "x",
           "AMAZON_REDIRECT_URI": "https://bot.example.com/oauth/amazon/callback",
           "SPAPI_APPLICATION_ID": "amzn1.sp.solution.x", "BASE_URL": "https://bot.example.com"}
    script = ['{"say": "hi, seller on amazon.co.jp, how to connect"}', '{"click": "Yes"}',
              '{"amazon": {"outcome": "allow", "profiles": []}}']
    run = _bot("chat", "--jsonl", stdin="\n".join(script) + "\n", env=env)
    assert run.returncode == 2, run.stderr
    out = _lines(run.stdout)
    link = next(li for m in out for li in m.get("links", []))  # type: ignore[attr-defined]
    assert link["url"].startswith("https://bot.example.com/connect/")
    assert link["authorize_url"].startswith("https://apac.account.amazon.com/ap/oa?client_id=amzn1.application")
    assert out[-1] == {"error": "Amazon credentials are configured: only the local stand-in can be scripted",
                       "line": 3}


def test_serve_on_a_taken_port_says_which_and_how_to_pick_another() -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = _bot("serve", "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is already in use: pick another with `--port` (`make run PORT=8001`), "
        "or another address with `--host`"]
