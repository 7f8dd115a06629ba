"""`python -m bot chat`: the bot in a terminal. Choices are numbered; slash commands play Amazon and time."""

from __future__ import annotations

import json
import shlex
import sys
from typing import TextIO

from bot.app import Services
from bot.channels.jsonl import ScriptRun
from bot.engine import TurnResult
from bot.types import Channel, ConversationKey

HELP = """Type to talk to the bot; a number picks one of the numbered choices.
  /amazon allow DE:vendor FR:vendor   Amazon lists these accounts (country:type ...; none for no accounts)
  /amazon cancel | invalid_scope | expired_code | error MD1000
  /advance 25h                        move the clock forward; due reminders fire
  /sync 40 | /sync completed | /sync failed
  /strategist claim | reply <text> | return [step] | resolve
  /agent <note>                       a support agent hands the conversation off
  /quit"""


class TerminalChat:
    def __init__(self, services: Services, out: TextIO) -> None:
        self.out = out
        self.script = ScriptRun(services, out)
        self.script.key = ConversationKey(Channel.TERMINAL, "local", "you")
        self.choices: list[str] = []
        self.count = 0

    def show(self, results: list[TurnResult]) -> None:
        for result in results:
            for message in result.messages:
                who = "bot" if message.audience.value == "customer" else f"to {message.audience.value}"
                self.out.write(f"\n[{who} · {message.topic.value}]\n{message.text}\n")
                for link in message.links:
                    self.out.write(f"  -> {link.label}: {link.url}\n")
                if message.audience.value == "customer":
                    self.choices = [c.label for c in message.choices]
                    for i, label in enumerate(self.choices, 1):
                        self.out.write(f"  {i}. {label}\n")
        self.out.flush()

    def handle(self, line: str) -> bool:
        """One line typed by the person; False to stop."""
        text = line.strip()
        if text in ("/quit", "/exit"):
            return False
        if text in ("/help", "?"):
            self.out.write(HELP + "\n")
            return True
        self.count += 1
        try:
            obj = self._to_protocol(text)
            self.show(self.script.line(self.count, json.dumps(obj)))
        except Exception as exc:  # noqa: BLE001  the person sees a short reason, never a traceback
            self.out.write(f"(could not do that: {exc})\n")
        return True

    def _to_protocol(self, text: str) -> dict[str, object]:
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            return {"click": self.choices[int(text) - 1]}
        if not text.startswith("/"):
            return {"say": text}
        parts = shlex.split(text[1:])
        command, args = (parts[0], parts[1:]) if parts else ("", [])
        if command == "amazon" and args:
            if args[0] == "allow":
                profiles = [{"country": a.split(":")[0], "type": (a.split(":") + ["seller"])[1]}
                            for a in args[1:] if a != "none"]
                return {"amazon": {"outcome": "allow", "profiles": profiles}}
            if args[0] == "error":
                return {"amazon": {"outcome": "error", "code": args[1] if len(args) > 1 else "server_error"}}
            return {"amazon": {"outcome": args[0]}}
        if command == "advance" and args:
            return {"advance": args[0]}
        if command == "sync" and args:
            if args[0].isdigit():
                return {"sync": {"status": "in_progress", "progress": int(args[0])}}
            return {"sync": {"status": args[0]}}
        if command == "strategist" and args:
            action = {"action": args[0]}
            if args[0] == "reply":
                action["text"] = " ".join(args[1:])
            if args[0] == "return" and len(args) > 1:
                action["to_step"] = args[1]
            return {"strategist": action}
        if command == "agent":
            return {"agent": {"action": "handoff", "note": " ".join(args)}}
        raise ValueError(f"unknown command {text!r}; type /help")


def run_terminal(services: Services, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    chat = TerminalChat(services, out)
    out.write("connectbot: type a message (/help for commands, /quit to leave).\n")
    try:
        while True:
            out.write("\n> ")
            out.flush()
            line = stdin.readline()
            if not line or not chat.handle(line):
                return 0
    finally:
        chat.script.close()
