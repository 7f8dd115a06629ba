"""Start-up validation of the flows, from the same data their diagrams are drawn from (bot/flowdiagram.py).

Unknown targets, unreachable states, missing templates, topics without an article: each is an
error that stops the process at start-up, never a surprise in front of a customer.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Iterable
from types import ModuleType

import flows
from bot.knowledge import Knowledge
from bot.render import Templates
from bot.types import Topic
from flows.base import Flow
from flows.handoff import RETURN_STEPS
from flows.states import Handoff

_SAY_CALL = re.compile(r"""Say\(\s*["']([\w/]+)["']""")
_ENGINE_TEMPLATES = ("handoff/ping", "common/article", "common/what_i_do", "common/didnt_catch", "links/signin",
                     "links/spapi", "ops/dead_letter")


class FlowInvalid(ValueError):
    """The flows contradict themselves; the message lists every problem found."""


def _edges(flow_list: Iterable[Flow]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for flow in flow_list:
        for state in flow.states:
            graph[state.value] = {target.value for target, _ in flow.targets(state)}
    return graph


def problems(templates: Templates, knowledge: Knowledge) -> list[str]:
    found: list[str] = []
    graph = _edges(flows.FLOWS)
    for flow in flows.FLOWS:
        prefix = flow.name + "."
        for state, node in flow.states.items():
            if not state.value.startswith(prefix):
                found.append(f"{state.value}: a state of flow {flow.name!r} must be named {prefix}<state>")
            if node.say and not templates.exists(node.say):
                found.append(f"{state.value}: template {node.say!r} does not exist")
            if not isinstance(node.topic, Topic):
                found.append(f"{state.value}: unknown topic {node.topic!r}")
            for target, _ in flow.targets(state):
                if target.value not in graph:
                    found.append(f"{state.value}: goes to unknown state {target.value}")
            if node.options and len({o.value for o in node.options}) != len(node.options):
                found.append(f"{state.value}: two options share a value")
    for module in _flow_modules():
        for template in _SAY_CALL.findall(inspect.getsource(module)):
            if not templates.exists(template):
                found.append(f"{module.__name__}: template {template!r} does not exist")
    for template in _ENGINE_TEMPLATES:
        if not templates.exists(template):
            found.append(f"engine: template {template!r} does not exist")
    roots = {flows.START.value, Handoff.WAITING.value, *(s.value for s in flows.ENTRY_POINTS.values()),
             *(s.value for s in RETURN_STEPS.values())}
    reached = _reachable(graph, roots)
    for name in sorted(set(graph) - reached):
        found.append(f"{name}: unreachable from the start, the entry points and the handoff")
    for topic in sorted(set(Topic) - knowledge.topics_covered()):
        found.append(f"topic {topic.value}: no knowledge article has it as its main topic")
    return found


def _flow_modules() -> list[ModuleType]:
    return [module for name, module in sorted(sys.modules.items()) if name.startswith("flows.")]


def _reachable(graph: dict[str, set[str]], roots: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = [r for r in roots if r in graph]
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        todo.extend(graph.get(state, ()))
    return seen


def validate_all(templates: Templates, knowledge: Knowledge) -> None:
    found = problems(templates, knowledge)
    if found:
        raise FlowInvalid("the flows are not valid:\n- " + "\n- ".join(found))
