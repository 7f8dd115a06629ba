"""Help articles from knowledge/: loaded once, looked up by topic, account type or error code.

Articles are Markdown with YAML front matter (id, title, topics, applies_to, codes, summary), so
support can add an error message or change wording without touching Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.types import Topic


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    topics: tuple[Topic, ...]
    applies_to: tuple[str, ...]
    codes: tuple[str, ...]
    summary: str
    body: str

    @property
    def answer(self) -> str:
        """The body without its closing call to action ("Say 'connect' ...", "Which are you?"): what is
        said when the conversation goes on at a step right after it, which asks its own question."""
        paragraphs = self.body.split("\n\n")
        sentences = _SENTENCE_END.split(paragraphs[-1].strip())
        while sentences and _CALL_TO_ACTION.match(sentences[-1]):
            sentences.pop()
        kept = [*paragraphs[:-1], " ".join(sentences)] if sentences else paragraphs[:-1]
        return "\n\n".join(kept).strip() or self.body


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
_CALL_TO_ACTION = re.compile(r"(?:Say |Ask |Tell me |I will |.*\?$)")


class KnowledgeError(ValueError):
    """An article is malformed: raised at start-up, never in front of a customer."""


def default_knowledge_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "knowledge" / "articles"


def parse_article(path: Path) -> Article:
    text = path.read_text(encoding="utf-8")
    parts = text.split("---\n", 2)
    if len(parts) != 3 or parts[0]:
        raise KnowledgeError(f"{path.name}: expected front matter between '---' lines")
    meta = yaml.safe_load(parts[1]) or {}
    try:
        topics = tuple(Topic(t) for t in meta["topics"])
        article = Article(
            id=str(meta["id"]),
            title=str(meta["title"]),
            topics=topics,
            applies_to=tuple(str(a) for a in meta.get("applies_to") or ("any",)),
            codes=tuple(str(c) for c in meta.get("codes") or ()),
            summary=str(meta["summary"]),
            body=parts[2].strip(),
        )
    except (KeyError, ValueError) as exc:
        raise KnowledgeError(f"{path.name}: {exc}") from exc
    if article.id != path.stem:
        raise KnowledgeError(f"{path.name}: id {article.id!r} must match the file name")
    if not topics:
        raise KnowledgeError(f"{path.name}: an article needs at least one topic")
    return article


class Knowledge:
    def __init__(self, articles: list[Article]) -> None:
        self.articles = {a.id: a for a in articles}
        if len(self.articles) != len(articles):
            raise KnowledgeError("two articles share an id")
        self._codes = {code.lower(): a for a in articles for code in a.codes}

    @classmethod
    def load(cls, directory: Path | None = None) -> Knowledge:
        folder = directory or default_knowledge_dir()
        return cls([parse_article(p) for p in sorted(folder.glob("*.md"))])

    def for_topic(self, topic: Topic, account_type: str | None = None) -> Article | None:
        """The article that answers a topic: one whose main topic it is, fitted to the account type."""
        main = [a for a in self.articles.values() if a.topics[0] == topic]
        if not main:
            return None
        canonical = topic.value.replace(".", "-").replace("_", "-")
        if canonical in self.articles and self.articles[canonical].topics[0] == topic:
            return self.articles[canonical]
        fitting = [a for a in main if account_type and account_type in a.applies_to]
        return (fitting or main)[0]

    def for_code(self, code: str) -> Article | None:
        """The article explaining an error code or an on-screen message Amazon showed."""
        needle = code.strip().lower()
        if needle in self._codes:
            return self._codes[needle]
        if needle.startswith("md"):
            return self._codes.get("md1000")
        return next((a for c, a in self._codes.items() if len(c) > 6 and c in needle), None)

    def topics_covered(self) -> set[Topic]:
        return {a.topics[0] for a in self.articles.values()}
