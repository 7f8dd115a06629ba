"""Flows as data: they validate, they draw, they stay free of framework imports."""

from __future__ import annotations

import ast
from pathlib import Path

import flows
from bot.flowcheck import problems
from bot.flowdiagram import diagram
from bot.knowledge import Knowledge
from bot.render import Templates
from bot.types import Topic

FLOWS_DIR = Path(__file__).resolve().parent.parent / "flows"
FORBIDDEN = ("slack_bolt", "slack_sdk", "fastapi", "starlette", "httpx", "sqlalchemy", "sqlmodel", "psycopg",
             "bot.store", "bot.engine", "bot.web")


def test_every_flow_is_valid() -> None:
    assert problems(Templates(reply_estimate=""), Knowledge.load()) == []


def test_a_missing_template_is_reported(tmp_path: Path) -> None:
    (tmp_path / "common").mkdir()
    found = problems(Templates(tmp_path, reply_estimate=""), Knowledge.load())
    assert any("template 'connect/ask_type' does not exist" in p for p in found)


def test_flows_import_no_framework_or_storage() -> None:
    for path in FLOWS_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"


def test_every_state_value_names_its_flow_and_is_drawn() -> None:
    for flow in flows.FLOWS:
        drawn = diagram([flow])
        for state in flow.states:
            assert state.value.startswith(flow.name + ".")
            assert state.value.replace(".", "_") in drawn


def test_every_topic_has_an_article_and_codes_resolve() -> None:
    knowledge = Knowledge.load()
    assert knowledge.topics_covered() == set(Topic)
    md = knowledge.for_code("MD1000")
    assert md is not None and Topic.CONNECT_AMAZON_ERROR in md.topics
    assert knowledge.for_code("access_denied") is not None
