"""Templates to text: every customer-facing sentence lives in flows/templates as Jinja2."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, TemplateNotFound

from bot.amazon.marketplaces import REGION_NAMES, Region, marketplace

TEMPLATE_SUFFIX = ".j2"


def default_template_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "flows" / "templates"


def join_and(items: Iterable[Any]) -> str:
    """['a', 'b', 'c'] -> 'a, b and c': how people list things."""
    words = [str(i) for i in items]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def region_name(code: str) -> str:
    try:
        return REGION_NAMES[Region(str(code))]
    except ValueError:
        return str(code)


def marketplace_name(code: str) -> str:
    try:
        return marketplace(str(code)).name
    except KeyError:
        return str(code)


def after_hours(moment: datetime, hours: int) -> str:
    """A deadline as people read it: 'Wed 7 Jan, 09:00 UTC'."""
    return (moment + timedelta(hours=hours)).strftime("%a %-d %b, %H:%M UTC")


class Templates:
    def __init__(self, directory: Path | None = None, **globals_: Any) -> None:
        self.directory = directory or default_template_dir()
        self._env = Environment(
            loader=FileSystemLoader(str(self.directory)),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,  # plain text: each channel escapes for its own markup
            auto_reload=False,  # templates ship with the code: no stat() of the file on every render
        )
        self._env.filters.update(join_and=join_and, region_name=region_name, marketplace_name=marketplace_name,
                                 after_hours=after_hours)
        self._env.globals.update(globals_)
        self._compiled: dict[str, Template] = {}  # each template parsed and compiled once per process

    def _template(self, template_id: str) -> Template:
        found = self._compiled.get(template_id)
        if found is None:
            found = self._compiled[template_id] = self._env.get_template(template_id + TEMPLATE_SUFFIX)
        return found

    def exists(self, template_id: str) -> bool:
        try:
            self._template(template_id)
        except TemplateNotFound:
            return False
        return True

    def render(self, template_id: str, variables: Mapping[str, Any]) -> str:
        text = self._template(template_id).render(**variables)
        # Templates are written for reading; collapse the blank lines Jinja blocks leave behind.
        lines = [line.rstrip() for line in text.strip().splitlines()]
        out: list[str] = []
        for line in lines:
            if line or (out and out[-1]):
                out.append(line)
        return "\n".join(out)
