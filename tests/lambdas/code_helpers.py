"""Shared by the code grader tests: samples, references, and what outputs say."""

from __future__ import annotations

import os
from typing import Any


def code_sample(sample_id: str, program: str | None, reference: Any, *, fence: str | None = "python",
                prose: str = "Here is my solution.") -> dict[str, Any]:
    response = program if program is None or fence is None else f"{prose}\n```{fence}\n{program}\n```\n"
    return {
        "id": sample_id,
        "messages": [{"role": "user", "content": "Write the program."}, {"role": "assistant", "content": response}],
        "metadata": {"reference_answer": reference},
    }


ADD_IO = {"tests": [{"input": f"{a} {b}\n", "output": f"{a + b}\n"} for a, b in
                    [(1, 2), (3, 4), (10, 20), (7, 8), (100, 1)]]}
ADD_ASSERTS = {"test_code": "assert add(1, 2) == 3\nassert add(2, 2) == 4\nassert add(-1, 1) == 0\nassert add(5, 5) == 10"}
ADD = "a, b = map(int, input().split())\nprint(a + b)"


def metrics(output: dict[str, Any]) -> dict[str, float]:
    return {m["name"]: m["value"] for m in output["metrics_list"]}


def reasons(outputs: list[dict[str, Any]]) -> dict[str, str | None]:
    found = {}
    for output in outputs:
        failure = [m["name"][len("failure_"):] for m in output["metrics_list"] if m["name"].startswith("failure_")]
        found[output["id"]] = failure[0] if failure else None
    return found


def no_children_left(marker: str) -> bool:
    """True when no process's command line holds ``marker``."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    return False
        except OSError:
            continue
    return True
