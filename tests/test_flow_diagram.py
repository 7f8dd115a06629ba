"""`python -m bot flows diagram`: one Mermaid flowchart a viewer takes whole, and one file per flow with --out."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import flows
from bot.flowdiagram import diagram

ROOT = Path(__file__).resolve().parent.parent
PARSER = Path(__file__).parent / "mermaid"
NODE = re.compile(r"^\s+(\w+)(\(\[|\[/|\[)")  # a node definition: id followed by its shape
EDGE = re.compile(r'^\s+(\w+) (==>|-->|-\.->)\|"([^"]*)"\| (\w+)$')


def _bot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT, timeout=60)


def _structure(text: str) -> tuple[list[str], list[str], list[tuple[str, str, str, str]]]:
    """(subgraph ids, node ids as defined, edges as (source, arrow, label, target))."""
    lines = text.splitlines()
    subgraphs = [line.split()[1].split("[")[0] for line in lines if line.strip().startswith("subgraph ")]
    nodes = [m.group(1) for line in lines if (m := NODE.match(line)) and not line.strip().startswith("subgraph")]
    edges = [(m.group(1), m.group(2), m.group(3), m.group(4)) for line in lines if (m := EDGE.match(line))]
    return subgraphs, nodes, edges


def test_the_whole_diagram_is_one_flowchart_with_a_subgraph_per_flow() -> None:
    printed = _bot("flows", "diagram")
    assert printed.returncode == 0, printed.stderr
    text = printed.stdout
    assert text.startswith("flowchart TD\n") and text.count("flowchart") == 1
    subgraphs, nodes, edges = _structure(text)
    assert subgraphs == [f"flow_{flow.name}" for flow in flows.FLOWS]
    assert sum(1 for line in text.splitlines() if line.strip() == "end") == len(flows.FLOWS)
    every_state = [state.value.replace(".", "_") for flow in flows.FLOWS for state in flow.states]
    assert sorted(nodes) == sorted(every_state), "each state drawn once, in its own flow's subgraph"
    assert len(set(nodes)) == len(nodes) and not set(nodes) & set(subgraphs), "ids are unique across flows"
    edge_lines = [line for line in text.splitlines() if "->" in line or "==>" in line]
    assert len(edges) == len(edge_lines), "every edge has a label"
    assert {s for s, *_ in edges} | {t for *_, t in edges} <= set(nodes), "no edge leads outside the diagram"
    assert all(label for _, _, label, _ in edges)


def test_routing_edges_say_what_leads_where() -> None:
    _, _, edges = _structure(diagram(flows.FLOWS))
    labels = {(source, target): label for source, _, label, target in edges}
    assert "connect.start" in labels["home_idle", "connect_route"]  # the intent that starts a flow
    assert labels["connect_ask_type", "connect_type_help"] == "Not sure"  # the choice a customer clicks
    assert labels["connect_route", "region_ask"] == "on entering"  # the handler that decides
    assert labels["handoff_waiting", "signin_recheck"] == "strategist returns to verify"


def test_one_flow_draws_the_states_it_leads_to_as_exits() -> None:
    text = _bot("flows", "diagram", "signin").stdout
    subgraphs, nodes, edges = _structure(text)
    assert subgraphs == ["flow_signin"] and "signin_send" in nodes
    assert {t for *_, t in edges} <= set(nodes), "targets in other flows are drawn as exits"
    assert _bot("flows", "diagram", "nope").returncode == 2


def test_out_writes_one_file_per_flow(tmp_path: Path) -> None:
    result = _bot("flows", "diagram", "--out", str(tmp_path / "diagrams"))
    assert result.returncode == 0, result.stderr
    written = sorted((tmp_path / "diagrams").glob("*.mmd"))
    assert [p.stem for p in written] == sorted(flow.name for flow in flows.FLOWS)
    assert result.stdout.split() == [str(p) for p in sorted(written, key=lambda p: [f.name for f in flows.FLOWS]
                                                             .index(p.stem))]
    for path in written:
        subgraphs, _, _ = _structure(path.read_text())
        assert path.read_text().count("flowchart") == 1 and subgraphs == [f"flow_{path.stem}"]


def test_mermaid_itself_parses_the_diagrams(tmp_path: Path) -> None:
    if shutil.which("node") is None or not (PARSER / "node_modules" / "mermaid").is_dir():
        pytest.skip("Mermaid's parser is not installed: `make install-dev` installs it where npm is present")
    whole = tmp_path / "all.mmd"
    whole.write_text(diagram(flows.FLOWS))
    files = [whole] + [tmp_path / f"{flow.name}.mmd" for flow in flows.FLOWS]
    for flow, path in zip(flows.FLOWS, files[1:], strict=True):
        path.write_text(diagram([flow]))
    broken = tmp_path / "broken.mmd"
    broken.write_text('flowchart TD\n    a -->|"unclosed| b\n')
    parsed = subprocess.run(["node", str(PARSER / "parse.mjs"), *map(str, files)], capture_output=True, text=True,
                            timeout=120)
    assert parsed.returncode == 0, parsed.stderr
    assert parsed.stdout.split("\n")[:len(files)] == [f"{p}: flowchart-v2" for p in files]
    refused = subprocess.run(["node", str(PARSER / "parse.mjs"), str(broken)], capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode == 1, "the parser really checks (a broken label is refused)"
