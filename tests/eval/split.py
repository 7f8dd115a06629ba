"""Split a writer's set (first_messages.jsonl and journeys.jsonl, see the set's WRITER.md) into a tuning
and a held-out half.

    python tests/eval/split.py tests/eval/blind3 blind3 journeys            # writer w5
    python tests/eval/split.py tests/eval/blind4 blind4 journeys4 20261204  # writer w6

Rows are grouped by (first topic, one or several questions) and journeys by the topic of their first
expectation; each group, shuffled with a fixed seed, is dealt alternately to the two halves, so both
cover every topic. Writes ROWS_tuning.jsonl, ROWS_heldout.jsonl, JOURNEYS_tuning.jsonl and JOURNEYS_heldout.jsonl
into tests/eval/.
"""

from __future__ import annotations

import json
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

EVAL = Path(__file__).resolve().parent


def _deal(items: list[dict[str, Any]], group: Any, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        groups[group(item)].append(item)
    halves: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    turn = 0
    for key in sorted(groups, key=str):
        members = groups[key]
        rng.shuffle(members)
        for member in members:
            halves[turn % 2].append(member)
            turn += 1
    for half in halves:
        rng.shuffle(half)
    return halves


def _first_expect(journey: dict[str, Any]) -> str:
    return next((str(s["expect"]) for s in journey["steps"] if "expect" in s), "")


def _write(name: str, items: list[dict[str, Any]]) -> None:
    with (EVAL / name).open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")


def main(source: Path, rows_name: str, journeys_name: str, seed: int = 20261202) -> int:
    rows = [json.loads(line) for line in (source / "first_messages.jsonl").read_text().splitlines() if line.strip()]
    journeys = [json.loads(line) for line in (source / "journeys.jsonl").read_text().splitlines() if line.strip()]
    tuning, heldout = _deal(rows, lambda r: (r["topics"][0], len(r["topics"]) > 1), seed)
    j_tuning, j_heldout = _deal(journeys, _first_expect, seed + 1)
    _write(f"{rows_name}_tuning.jsonl", tuning)
    _write(f"{rows_name}_heldout.jsonl", heldout)
    _write(f"{journeys_name}_tuning.jsonl", j_tuning)
    _write(f"{journeys_name}_heldout.jsonl", j_heldout)
    sys.stdout.write(f"rows {len(tuning)} / {len(heldout)}, journeys {len(j_tuning)} / {len(j_heldout)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], *(int(a) for a in sys.argv[4:5])))
