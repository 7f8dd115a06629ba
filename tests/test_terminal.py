"""The terminal chat as a person uses it: numbered choices, slash commands, no tracebacks."""

from __future__ import annotations

import io

from bot.app import Services
from bot.channels.terminal import TerminalChat, run_terminal


def test_a_person_connects_from_the_terminal(services: Services) -> None:
    out = io.StringIO()
    chat = TerminalChat(services, out)
    try:
        for line in ["hi, we are a vendor on amazon.fr and want to connect", "1", "/amazon allow FR:vendor", "2"]:
            assert chat.handle(line)
    finally:
        chat.script.close()
    screen = out.getvalue()
    assert "  1. Yes" in screen, "choices are shown as numbered options"
    assert "Sign in with Amazon (Europe)" in screen
    assert "Connected: Amazon lists your vendor account in France." in screen
    assert "Fine, we will skip SP-API." in screen, "typing 2 picked the second choice"


def test_mistakes_get_a_short_reason(services: Services) -> None:
    out = io.StringIO()
    chat = TerminalChat(services, out)
    chat.handle("/amazon allow DE:vendor")
    chat.handle("/teleport")
    screen = out.getvalue()
    assert "(could not do that: no Amazon link is pending in this conversation)" in screen
    assert "unknown command" in screen and "Traceback" not in screen


def test_quit_ends_the_session(services: Services) -> None:
    out = io.StringIO()
    assert run_terminal(services, io.StringIO("hello\n/quit\nnever read\n"), out) == 0
    assert "connectbot" in out.getvalue() and "never read" not in out.getvalue()
