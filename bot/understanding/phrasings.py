"""The training data: `knowledge/phrasings/<topic-id>.txt`, one phrasing per line."""

from __future__ import annotations

from pathlib import Path

from bot.types import Topic


def default_phrasings_dir() -> Path:
    """`<repo>/knowledge/phrasings`, found relative to this file."""
    return Path(__file__).resolve().parents[2] / "knowledge" / "phrasings"


def phrasing_files(phrasings_dir: Path) -> list[Path]:
    """The file of every topic, in `Topic` order; a missing one is an error."""
    paths: list[Path] = []
    for topic in Topic:
        path = phrasings_dir / f"{topic.value}.txt"
        if not path.is_file():
            raise ValueError(f"no phrasings for topic {topic.value}: {path} is missing")
        paths.append(path)
    return paths


def read_phrasings(phrasings_dir: Path) -> list[tuple[str, Topic]]:
    """Every (phrasing, topic) pair of `<dir>/<topic-id>.txt`; `#` lines and blanks skipped."""
    rows: list[tuple[str, Topic]] = []
    for topic, path in zip(Topic, phrasing_files(phrasings_dir), strict=True):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                rows.append((line, topic))
    return rows
