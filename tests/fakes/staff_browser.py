"""A member of staff's browser for the console: keeps cookies, follows the sign-in through the stand-in provider."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bot.loopback import Rerouted

PUBLIC = "http://127.0.0.1:8000"  # the tests' configured public address; requests are rerouted to the real port
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def hidden_fields(page: str) -> dict[str, str]:
    return {html.unescape(k): html.unescape(v) for k, v in _HIDDEN.findall(page)}


class StaffBrowser:
    def __init__(self, origin: str) -> None:
        self.http = httpx.Client(base_url=PUBLIC, transport=Rerouted({PUBLIC: origin}), follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def sign_in(self, who: str) -> httpx.Response:
        """From /console to the provider's page, pick `who` ("alice" or "sam"), and back: the queue."""
        first = self.http.get("/console/")
        assert first.status_code == 303 and first.headers["location"] == "/console/login"
        to_idp = self.http.get("/console/login")
        assert to_idp.status_code == 302 and to_idp.headers["location"].startswith(f"{PUBLIC}/idp/authorize?")
        picker = self.http.get(to_idp.headers["location"])
        assert picker.status_code == 200, picker.text
        back = self.http.post("/idp/authorize", data={**hidden_fields(picker.text), "who": who})
        assert back.status_code == 302 and back.headers["location"].startswith(f"{PUBLIC}/console/callback?")
        done = self.http.get(back.headers["location"])
        assert done.status_code == 303, done.text
        return self.http.get(done.headers["location"])

    def form(self, conversation_id: int) -> dict[str, str]:
        """The hidden fields of the conversation page's forms: the CSRF token and the one-time token."""
        page = self.http.get(f"/console/c/{conversation_id}")
        assert page.status_code == 200, page.text
        return hidden_fields(page.text)

    def act(self, conversation_id: int, action: str, **fields: str) -> httpx.Response:
        return self.http.post(f"/console/c/{conversation_id}/{action}", data={**self.form(conversation_id), **fields})


@contextmanager
def staff_browser(origin: str) -> Iterator[StaffBrowser]:
    """A member of staff's browser for the length of a `with`, closed after."""
    staff = StaffBrowser(origin)
    try:
        yield staff
    finally:
        staff.close()
