"""The judge package: its pure modules load without the client, and its public names still resolve."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests import ROOT

LAMBDAS = ROOT / "lambdas"


def _loaded_after(statement: str) -> list[str]:
    code = (
        f"import json, sys; {statement}; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('reward_kit.graders.judge', 'boto')))))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=LAMBDAS, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_the_pure_modules_load_neither_the_client_nor_the_grader():
    loaded = _loaded_after(
        "from reward_kit.graders.judge.prompt import max_request_chars, system_prompt; "
        "from reward_kit.graders.judge.reply import JUDGE_ERROR"
    )
    assert loaded == ["reward_kit.graders.judge", "reward_kit.graders.judge.prompt", "reward_kit.graders.judge.reply"]


def test_a_public_name_loads_only_its_own_module():
    assert _loaded_after("from reward_kit.graders.judge import neutralize") == [
        "reward_kit.graders.judge", "reward_kit.graders.judge.prompt"
    ]


def test_every_public_name_resolves_and_unknown_names_fail():
    from reward_kit.graders import judge

    for name in judge.__all__:
        assert getattr(judge, name) is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        judge.no_such_name  # noqa: B018
