"""examples/judge/ and the judge dry run: one-line errors (exit 2), advice that is valid config,
``--fake-judge`` measuring tokens per call offline, and the report's other fixes (the missing
``reference_key`` named, PNG axis labels)."""

from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from reward_kit import dryrun, names
from reward_kit.graders.judge import system_prompt
from reward_kit.spec import validate_spec
from tests import ROOT
from tests.lambdas.fake_bedrock import Error, FakeBedrock, _bedrock_server, bedrock  # noqa: F401  (fixtures)

EXAMPLE = ROOT / "examples" / "judge"
DATA, SPEC = EXAMPLE / "samples.jsonl", EXAMPLE / "spec.json"


def run(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = dryrun.main([str(a) for a in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def judge_line(report: str) -> str:
    (line,) = [line for line in report.splitlines() if line.startswith("judge: ")]
    return line


@pytest.fixture
def no_judge_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (names.ENV_JUDGE_MODEL_ID, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)


def test_the_example_has_correct_wrong_injected_duplicate_broken_and_non_english_samples() -> None:
    spec = validate_spec(json.loads(SPEC.read_text(encoding="utf-8")))
    assert spec["grader"] == "judge" and set(spec["criteria"]) == {"correctness", "helpfulness", "tone"}
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    answers = [r["messages"][-1]["content"] for r in rows]
    assert len(answers) != len(set(answers))  # a repeated sample: one judge call for both
    assert any("</candidate_response>" in a for a in answers)  # a prompt injection
    assert "" in answers and any("id" not in r for r in rows)  # broken samples
    assert any(any("\u3040" <= ch <= "\u30ff" for ch in a) for a in answers)  # Japanese


def test_without_a_model_id_the_dry_run_fails_in_one_line_with_exit_2(no_judge_env: None) -> None:
    code, report, err = run("--data", DATA, "--spec", SPEC)
    assert code == 2 and report == ""
    assert err.count("\n") == 1 and err.startswith("error: JUDGE_MODEL_ID: not set")
    assert "--fake-judge" in err and "Traceback" not in err


def test_fake_judge_estimates_tokens_per_call_from_the_real_requests(no_judge_env: None) -> None:
    code, report, err = run("--data", DATA, "--spec", SPEC, "--fake-judge")
    assert code == 0, err
    spec = validate_spec(json.loads(SPEC.read_text(encoding="utf-8")))
    # 7 samples reach the judge, one of them twice: 6 calls.
    line = judge_line(report)
    assert line.startswith("judge: 6 calls (1 samples de-duplicated), ")
    per_input = int(line.split("per call ")[1].split(" input")[0])
    per_output = int(line.split(" input + ")[2].split(" output")[0])
    assert per_output == spec["max_tokens"]  # what Bedrock reserves for the reply
    # Every request carries the whole system prompt: at 4 characters per token, at least that.
    assert per_input > math.ceil(len(system_prompt(spec)) / 4)
    assert f"judge_input_tokens_per_call: {per_input} and judge_output_tokens_per_call: {per_output}" in line
    assert "timing: 9 samples in " in report and "constant verdict" in report
    # Nothing left behind: the fake is gone and the process's AWS settings are back.
    assert "AWS_ENDPOINT_URL_BEDROCK_RUNTIME" not in os.environ and names.ENV_JUDGE_MODEL_ID not in os.environ


def test_fake_judge_input_tokens_follow_the_request_text(no_judge_env: None) -> None:
    from tools.fake_judge import reply

    spec = validate_spec(json.loads(SPEC.read_text(encoding="utf-8")))

    def body(response: str) -> dict[str, Any]:  # a Converse request as the judge sends it
        return {"system": [{"text": system_prompt(spec)}, {"cachePoint": {"type": "default"}}],
                "messages": [{"role": "user", "content": [{"text": f"<candidate_response>{response}"}]}],
                "inferenceConfig": {"maxTokens": spec["max_tokens"]}}

    short, long = body("ok"), body("x" * 4000)
    assert reply(0, long).input_tokens - reply(0, short).input_tokens == pytest.approx(1000, abs=2)
    assert reply(0, short).output_tokens == spec["max_tokens"]
    verdict = json.loads(reply(0, short).text)
    assert verdict["scores"] == {"correctness": 5, "helpfulness": 5, "tone": 5}


def test_fake_judge_needs_a_judge_spec(no_judge_env: None) -> None:
    label = EXAMPLE.parent / "label"
    code, _, err = run("--data", label / "samples.jsonl", "--spec", label / "spec.json", "--fake-judge")
    assert (code, err) == (2, "error: --fake-judge: this spec calls no judge\n")


def test_when_every_call_fails_no_invalid_advice_is_printed(bedrock: FakeBedrock) -> None:  # noqa: F811
    bedrock.responder = lambda index, body: Error(403, "AccessDeniedException", "not authorized")
    code, report, _ = run("--data", DATA, "--spec", SPEC)
    assert code == 0
    line = judge_line(report)
    assert "failed: AccessDeniedException 6" in line
    assert "judge_input_tokens_per_call" not in report and "no tokens per call to configure" in line


def test_per_call_tokens_count_only_answered_calls(bedrock: FakeBedrock) -> None:  # noqa: F811
    from tools.fake_bedrock import Reply

    def answer(index: int, body: dict[str, Any]) -> Any:
        if index == 0:
            return Error(400, "ValidationException", "bad")
        scores = {"correctness": 5, "helpfulness": 5, "tone": 5}
        return Reply(json.dumps({"scores": scores, "reason": "r"}), 500, 30)

    bedrock.responder = answer
    code, report, _ = run("--data", DATA, "--spec", SPEC)
    line = judge_line(report)
    assert "1 failed: ValidationException 1" in line
    assert "per answered call 500 input + 30 output" in line  # 2500 over 5 answered calls, not 6


def test_a_missing_reference_key_is_named(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"grader": "numeric", "reference_key": "expected"}))
    data = tmp_path / "data.jsonl"
    rows = [{"id": "a", "messages": [{"role": "assistant", "content": "#### 4"}],
             "metadata": {"reference_answer": {"answer": 4}}},
            {"id": "b", "messages": [{"role": "assistant", "content": "#### 4"}],
             "metadata": {"reference_answer": {"expected": 4}}}]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code, report, _ = run("--data", data, "--spec", spec)
    assert code == 0
    assert "invalid_reference: the reference object has no key 'expected' (reference_key): lines 1" in report


def test_the_png_has_axis_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    figures: list[Any] = []
    monkeypatch.setattr(plt, "close", lambda fig: figures.append(fig))
    label = EXAMPLE.parent / "multi"
    code, _, err = run("--data", label / "samples.jsonl", "--spec", label / "spec.json", "--png", tmp_path / "h.png")
    assert code == 0, err
    (figure,) = figures
    axes = figure.get_axes()
    assert axes[0].get_xlabel() == "reward" and all(ax.get_ylabel() == "samples" for ax in axes)
    assert all(ax.get_xlabel().endswith("score") for ax in axes[1:])
