"""The customer's browser in a scripted chat: open the link, answer the stand-in's page, come back.

Every step is a real HTTP request to the running web app: /connect/{token} redirects to the
stand-in's consent page, the decision is posted there as a person would submit the form, the
stand-in redirects to our callback, and the callback exchanges the code and reads the profiles.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import httpx

from bot.amazon.sandbox.grants import parse_chosen

OUTCOMES = ("allow", "cancel", "invalid_scope", "expired_code", "error")


class BrowserError(ValueError):
    """The scripted outcome cannot be played, or a page refused it; the message says why."""


@dataclass(frozen=True)
class Decision:
    """What the person picks on the stand-in's page."""

    outcome: str
    profiles: str = ""
    code: str = ""

    def form(self) -> dict[str, str]:
        return {"outcome": self.outcome, "profiles": self.profiles, "code": self.code}


def decision_from_script(value: Any, spapi: bool) -> Decision:
    """`{"outcome": "allow", "profiles": [{"country": "DE", "type": "vendor"}]}` -> the page's form."""
    if not isinstance(value, dict):
        raise BrowserError('"amazon" takes an object such as {"outcome": "allow", "profiles": [...]}')
    outcome = str(value.get("outcome", ""))
    if outcome not in OUTCOMES:
        raise BrowserError(f"unknown Amazon outcome {outcome!r}; use one of {', '.join(OUTCOMES)}")
    code = str(value.get("code", "")).strip()
    if outcome == "error" and not code:
        raise BrowserError('an "error" outcome needs a "code", such as "MD1000" or "server_error"')
    raw = value.get("profiles", [])
    if spapi or outcome not in ("allow", "expired_code"):
        return Decision(outcome, "", code)
    if not isinstance(raw, list) or not all(isinstance(p, dict) for p in raw):
        raise BrowserError('"profiles" must be a list of {"country": ..., "type": ...}')
    entries = " ".join(f"{p.get('country', '')}:{p.get('type', '')}:{p.get('access', 'edit')}" for p in raw)
    try:
        parse_chosen(entries)
    except ValueError as exc:
        raise BrowserError(str(exc)) from None
    return Decision(outcome, entries, code)


class ScriptedBrowser:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def play(self, link: str, decision: Decision) -> str:
        """Open `link`, pick `decision` on the consent page; returns the title of the page it ends on."""
        opened = self.client.get(link)
        if opened.status_code != 302:
            raise BrowserError(f"the link did not lead to Amazon: {_title(opened)}")
        consent_url = httpx.URL(opened.headers["location"])
        page = self.client.get(consent_url)
        if page.status_code == 302:  # Amazon sent the person straight back (an error redirect)
            return self._back(page)
        if page.status_code != 200:
            raise BrowserError(f"Amazon's page refused the link: {_title(page)}")
        form = {**dict(consent_url.params), **decision.form()}
        decided = self.client.post(consent_url.copy_with(query=None), data=form)
        if decided.status_code != 302:
            raise BrowserError(f"Amazon's page refused the answer: {_title(decided)}")
        return self._back(decided)

    def _back(self, redirect: httpx.Response) -> str:
        landed = self.client.get(redirect.headers["location"])
        return _title(landed)


def _title(response: httpx.Response) -> str:
    found = re.search(r"<h1>(.*?)</h1>", response.text, re.S)
    return html.unescape(found.group(1)).strip() if found else f"HTTP {response.status_code}"
