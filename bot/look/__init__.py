"""The look of the service's own browser pages (callbacks, link pages, the Amazon stand-in): one shell, one stylesheet.

The words come from flows/templates/pages; this only lays them out, escaped, with a mobile viewport
and a way back to the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).parent
STYLESHEET_PATH = "/look/page.css"


@dataclass(frozen=True)
class Back:
    """Where 'back to the conversation' leads, and what the button says."""

    url: str
    label: str


def stylesheet() -> str:
    return (HERE / "page.css").read_text()


class Look:
    def __init__(self, stylesheet_url: str = STYLESHEET_PATH) -> None:
        self._env = Environment(loader=FileSystemLoader(HERE), autoescape=select_autoescape(["j2"]))
        self.stylesheet_url = stylesheet_url

    def page(self, title: str, text: str, back: Back | None = None, tone: str = "neutral") -> str:
        """A whole HTML page: a heading, the text (paragraphs at blank lines) and the way back."""
        paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
        return self._env.get_template("page.html.j2").render(
            title=title, paragraphs=paragraphs, back=back, tone=tone, stylesheet=self.stylesheet_url)
