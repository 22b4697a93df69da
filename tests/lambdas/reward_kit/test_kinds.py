"""reward_kit.kinds: the one table of grader kinds, and what is derived from it.

The made-up kinds below touch only the table (one row, patched in) and their own module:
the spec validator, the grader registry, ``multi``, the Scorer and the CDK config pick them up.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from reward_kit import kinds
from reward_kit.scoring import AGGREGATE, Scorer
from reward_kit.spec import SpecError, uses_judge, validate_spec
from tests.lambdas.helpers import make_sample

ECHO_MODULE = '''
from reward_kit.graders.base import single_result


def validate(path, spec, out):
    word = spec.get("word")
    if not isinstance(word, str) or not word:
        raise SpecError(f"{path}.word: must be a non-empty string, got {word!r}")
    out["word"] = word


def build(spec):
    word, name = spec["word"], spec["name"]

    def grade(sample):
        found = word in sample.response
        return single_result(name, float(found), None if found else "no_echo", {})

    return grade
'''


@pytest.fixture
def echo_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Register a made-up grader kind 'echo' (module echo_grader) in the table only."""
    (tmp_path / "echo_grader.py").write_text(
        "from reward_kit.spec import SpecError\n" + textwrap.dedent(ECHO_MODULE), encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    echo_grader = importlib.import_module("echo_grader")
    monkeypatch.setitem(kinds.GRADER_KINDS, "echo", kinds.GraderKind(echo_grader, ("word",), True))
    monkeypatch.setitem(
        kinds.GRADER_KINDS,
        "sandboxed",
        kinds.GraderKind(echo_grader, ("word",), True, needs=kinds.NEEDS_SANDBOX),
    )
    yield "echo"
    sys.modules.pop("echo_grader", None)


def test_a_new_kind_is_validated_built_and_scored(echo_kind: str) -> None:
    spec = validate_spec({"grader": "echo", "word": "hello"})
    assert spec["word"] == "hello" and spec["name"] == "echo"
    with pytest.raises(SpecError, match=r"^REWARD_SPEC.word: must be a non-empty string"):
        validate_spec({"grader": "echo"})
    with pytest.raises(SpecError, match=r"^REWARD_SPEC.colour: unknown key"):
        validate_spec({"grader": "echo", "word": "x", "colour": 1})
    result = Scorer(spec).score_event([make_sample("a", "say hello"), make_sample("b", "nothing")])
    assert result.values[AGGREGATE] == [1.0, 0.0] and result.failures == {"no_echo": 1}


def test_a_new_kind_works_inside_multi_and_its_reason_counts_as_correctness(echo_kind: str) -> None:
    spec = validate_spec({
        "grader": "multi",
        "graders": {"format": {"grader": "regex", "pattern": "x"}, "echo": {"grader": "echo", "word": "zz"}},
    })
    only_reasoning = "<thinking>nope</thinking>"  # regex: no_answer; echo: no_echo
    assert Scorer(spec["graders"]["format"]).score_event([make_sample("a", only_reasoning)]).failures == {
        "no_answer": 1
    }
    result = Scorer(spec).score_event([make_sample("a", only_reasoning)])
    # Both fail; the correctness kind's reason wins although it comes second.
    assert result.failures == {"no_echo": 1}


def test_needs_decide_the_function_kind(echo_kind: str) -> None:
    assert kinds.spec_needs(validate_spec({"grader": "echo", "word": "x"})) == {kinds.NEEDS_NOTHING}
    assert kinds.function_kind_for({kinds.NEEDS_NOTHING}) == "rlvr"
    assert kinds.function_kind_for({kinds.NEEDS_NOTHING, kinds.NEEDS_JUDGE}) == "rlaif"
    assert kinds.function_kind_for({kinds.NEEDS_SANDBOX}) == "code"
    assert kinds.function_kind_for({kinds.NEEDS_JUDGE, kinds.NEEDS_SANDBOX}) is None
    sandbox_and_label = validate_spec({
        "grader": "multi",
        "graders": {"q": {"grader": "label", "labels": ["a"]}, "run": {"grader": "sandboxed", "word": "x"}},
    })
    assert kinds.spec_needs(sandbox_and_label) == {kinds.NEEDS_NOTHING, kinds.NEEDS_SANDBOX}
    assert not uses_judge(sandbox_and_label)
    with pytest.raises(SpecError, match=r"^REWARD_SPEC.graders: a judge \(needs the network to call Bedrock\) and a code"):
        validate_spec({
            "grader": "multi",
            "graders": {"q": {"grader": "judge", "rubric": "r"}, "run": {"grader": "sandboxed", "word": "x"}},
        })


def test_the_config_derives_the_kind_of_a_new_grader(echo_kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from stacks.config import ConfigError, parse_environments

    def env(spec: dict) -> dict:
        return {"dev": {
            "training": {"bucket": "amzn-s3-demo-bucket", "data_prefix": "d", "output_prefix": "o"},
            "reward_functions": {"f": {"reward_spec": spec, "target_evaluations_per_second": 1,
                                       "expected_seconds_per_sample": 0.1}},
        }}

    fn = parse_environments(env({"grader": "echo", "word": "x"}))["dev"].function("f")
    assert (fn.kind, fn.handler, fn.judge) == ("rlvr", "rlvr.handler.handler", None)
    fn = parse_environments(env({"grader": "sandboxed", "word": "x"}))["dev"].function("f")
    assert (fn.kind, fn.handler) == ("code", "code_grader.handler.handler")
    monkeypatch.setitem(
        kinds.GRADER_KINDS, "gpu", kinds.GraderKind(kinds.GRADER_KINDS[echo_kind].module, ("word",), True, needs="gpu")
    )
    with pytest.raises(ConfigError) as info:
        parse_environments(env({"grader": "gpu", "word": "x"}))
    assert str(info.value) == (
        "environments.dev.reward_functions.f.reward_spec: needs ['gpu'], which no available kind "
        "['code', 'rlaif', 'rlvr'] provides yet"
    )


def test_every_shipped_kind_names_a_real_module_validator_and_need() -> None:
    for name, kind in kinds.GRADER_KINDS.items():
        assert callable(kind.module.build), name
        assert callable(kinds.validator_for(name)), name
        assert kind.needs in (kinds.NEEDS_NOTHING, kinds.NEEDS_JUDGE, kinds.NEEDS_SANDBOX), name
    correctness = {name for name, kind in kinds.GRADER_KINDS.items() if kind.grades_correctness}
    assert correctness == {"label", "numeric", "math", "json_schema", "code"}
