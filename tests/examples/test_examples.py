"""The shipped examples (examples/<grader>/) say what they claim.

Every spec validates, every file scores with one output per line, and each sample gets the
score its place in the example implies (correct => max, hack => min with the right reason,
...). If a grader changes behaviour, these tests say which example's story no longer holds.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from reward_kit.scoring import Scorer
from reward_kit.spec import output_range, reward_dimensions, validate_spec
from tests import ROOT

EXAMPLES = ROOT / "examples"
GRADER_KINDS = ("code", "json_schema", "label", "math", "multi", "numeric", "regex")
# Judged by a Bedrock model: what its samples claim is checked against the fake judge in
# test_judge_example.py (a real model's scores cannot be asserted).
JUDGE_EXAMPLES = ("judge",)

# id -> (aggregate score, reason or None). A (lo, hi) pair instead of a score means "in range".
Expected = dict[str, tuple[Any, "str | None"]]
EXPECTED: dict[str, Expected] = {
    "label": {
        "chabsa-001": (1.0, None),  # <thinking> + explanation + \boxed{positive}
        "chabsa-002": (1.0, None),  # top-level plain-string reference
        "chabsa-003": (1.0, None),  # <solution>\boxed{negative}</solution>
        "chabsa-004": (1.0, None),  # \boxed{\text{neutral}}
        "chabsa-005": (1.0, None),  # Japanese alias ネガティブ
        "chabsa-006": (1.0, None),  # **Neutral** mentioned once, no box
        "chabsa-007": (1.0, None),  # \boxed{POSITIVE}
        "chabsa-008": (0.1, None),  # well-formed, wrong: format_score
        "chabsa-009": (0.1, None),
        "chabsa-010": (1.0, None),  # nova_assistant role
        "chabsa-011": (1.0, None),  # content as a list of text blocks
        "chabsa-012": (1.0, None),  # "回答: positive" without a box
        "chabsa-013": (0.0, "multiple_answers"),  # every label boxed
        "chabsa-014": (0.0, "multiple_answers"),  # keyword list
        "chabsa-015": (0.0, "no_answer"),  # answer only inside <thinking>
        "chabsa-016": (0.0, "no_answer"),  # truncated inside <thinking>
        "chabsa-017": (0.0, "multiple_answers"),  # \boxed{positive または neutral}
        "chabsa-018": (0.0, "no_answer"),  # \boxed{mixed}: not a label
        "missing-id-18": (0.0, "missing_id"),
        "chabsa-020": (0.0, "no_assistant_message"),
        "chabsa-021": (0.0, "missing_reference"),
        "chabsa-022": (0.0, "empty_response"),
    },
    "numeric": {
        "gsm8k-0001": (1.0, None),  # GSM8K-style reference "... #### 72"
        "gsm8k-0002": (1.0, None),  # "#### $10"
        "gsm8k-0003": (1.0, None),  # \boxed{5}, numeric reference
        "gsm8k-0004": (1.0, None),
        "gsm8k-0005": (1.0, None),
        "gsm8k-0006": (1.0, None),  # no marker: last number of the final answer
        "gsm8k-0007": (1.0, None),  # "#### $990.00"
        "gsm8k-0008": (1.0, None),  # "#### −7" with U+2212 MINUS SIGN
        "gsm8k-0009": (1.0, None),  # "#### 45,000"
        "gsm8k-0010": (0.0, None),
        "gsm8k-0011": (0.0, None),
        "gsm8k-0012": (0.0, "multiple_answers"),  # two #### answers
        "gsm8k-0013": (0.0, "no_answer"),  # answer only inside <thinking>
        "gsm8k-0014": (0.0, "no_answer"),  # truncated inside <thinking>
        "gsm8k-0015": (0.0, "multiple_answers"),  # \boxed{5 or 10}
    },
    "math": {
        "math-001": (1.0, None),  # \frac{1}{2} vs 0.5
        "math-002": (1.0, None),  # \sqrt{2}/2 vs \frac{\sqrt{2}}{2}
        "math-003": (1.0, None),
        "math-004": (1.0, None),  # {2, 3}
        "math-005": (1.0, None),  # interval
        "math-006": (1.0, None),  # 0.75 vs \frac{3}{4}
        "math-007": (1.0, None),  # 1 + 2x + x^2 vs x^2 + 2x + 1
        "math-008": (1.0, None),  # unboxed
        "math-009": (0.1, None),  # boxed, wrong: format_score
        "math-010": (0.1, None),
        "math-011": (0.0, "multiple_answers"),
        "math-012": (0.0, "no_answer"),
        "math-013": (0.0, "no_answer"),
    },
    "json_schema": {
        "extract-001": (1.0, None),
        "extract-002": (1.0, None),  # fenced ```json block after reasoning
        "extract-003": (1.0, None),  # prose + object, keys reordered
        "extract-004": (0.2, "schema_mismatch"),  # parse_score
        "extract-005": (0.2, "schema_mismatch"),
        "extract-006": (0.2, "schema_mismatch"),
        "extract-007": (0.0, "invalid_json"),  # Python dict repr
        "extract-008": (0.0, "invalid_json"),
        "extract-009": ((0.2, 0.9), None),  # schema-valid, one field wrong: partial, never full
        "extract-010": ((0.2, 0.9), None),
        "extract-011": (0.0, "multiple_answers"),
        "extract-012": (0.0, "invalid_json"),  # object only inside <thinking>
    },
    "regex": {
        "date-001": (1.0, None),
        "date-002": (1.0, None),
        "date-003": (1.0, None),
        "date-004": (1.0, None),  # wrong date, right format: regex checks format only
        "date-005": (0.0, None),
        "date-006": (0.0, None),
        "date-007": (0.0, None),  # extra text around the date (full_match)
        "date-008": (0.0, None),  # month 13
        "date-009": (0.0, None),  # two dates
        "date-010": (0.0, "no_answer"),
        "date-011": (0.0, "no_answer"),
    },
    "code": {  # programs really run (each test in the sandbox); 4 tests per sample
        "code-001": (1.0, None),  # reasoning, then the program
        "code-002": (1.0, None),  # the last fenced block is graded, not the first
        "code-003": (0.75, None),  # wrong when n <= 2: 3 of 4 tests
        "code-004": (0.0, None),  # wrong answers: a score, not a failure
        "code-005": (0.0, None),  # right sum, extra text on the line
        "code-006": (0.0, "code_syntax_error"),
        "code-007": (0.0, "code_timeout"),
        "code-008": (0.0, "no_code"),  # code only inside <thinking>
        "code-009": (1.0, None),  # assertion tests
        "code-010": (0.75, None),  # case-insensitive: fails 'Aa'
        "code-011": (0.0, "code_not_plain"),  # an object equal to everything never reaches a comparison
        "code-012": (0.0, "code_crash"),  # exits before the asserts: no verdict
    },
    "multi": {  # range [-1, 1]: 0.8 correctness + 0.2 format - 0.5 x length penalty
        "multi-001": (1.0, None),
        "multi-002": (1.0, None),
        "multi-003": (1.0, None),
        "multi-004": (0.6, None),  # right, no <thinking>
        "multi-005": (0.6, None),  # right, text after the box
        "multi-006": (-0.6, None),  # wrong, well-formed
        "multi-007": ((0.0, 1.0), None),  # right but inside the soft-penalty buffer
        "multi-008": (0.0, None),  # right, over max_chars: full penalty
        "multi-009": (-1.0, "multiple_answers"),
        "multi-010": (-1.0, "multiple_answers"),
        "multi-011": (-1.0, "no_answer"),
    },
}


def load(kind: str) -> tuple[dict[str, Any], list[Any]]:
    folder = EXAMPLES / kind
    spec = json.loads((folder / "spec.json").read_text(encoding="utf-8"))
    lines = (folder / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    return spec, [json.loads(line) for line in lines if line.strip()]


def reason_of(output: dict[str, Any]) -> str | None:
    reasons = [m["name"][len("failure_") :] for m in output["metrics_list"] if m["name"].startswith("failure_")]
    assert len(reasons) <= 1, reasons
    return reasons[0] if reasons else None


def test_one_example_per_grader_kind() -> None:
    shipped = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())
    assert shipped == sorted(GRADER_KINDS + JUDGE_EXAMPLES)
    assert sorted(EXPECTED) == sorted(GRADER_KINDS)


@pytest.mark.parametrize("kind", GRADER_KINDS)
def test_spec_validates_and_uses_its_grader(kind: str) -> None:
    spec, _ = load(kind)
    assert validate_spec(spec)["grader"] == kind


@pytest.mark.parametrize("kind", GRADER_KINDS)
def test_example_scores_one_output_per_line_in_range(kind: str) -> None:
    spec, samples = load(kind)
    result = Scorer(spec).score_event(samples)
    assert len(result.outputs) == len(samples)
    valid = validate_spec(spec)
    lo, hi = output_range(valid)
    dims = reward_dimensions(valid)
    for sample, output in zip(samples, result.outputs):
        if isinstance(sample.get("id"), str):
            assert output["id"] == sample["id"]
        assert lo <= output["aggregate_reward_score"] <= hi
        assert [m["name"] for m in output["metrics_list"][: len(dims)]] == dims
    # No example should be so lopsided that it teaches nothing.
    assert min(result.values["aggregate"]) == lo and max(result.values["aggregate"]) == hi


@pytest.mark.parametrize("kind", GRADER_KINDS)
def test_example_samples_score_what_the_example_claims(kind: str) -> None:
    spec, samples = load(kind)
    outputs = Scorer(spec).score_event(samples).outputs
    expected = EXPECTED[kind]
    assert [o["id"] for o in outputs] == list(expected), "example and expectations list different samples"
    wrong = []
    for output in outputs:
        want, want_reason = expected[output["id"]]
        got = output["aggregate_reward_score"]
        ok = (want[0] < got < want[1]) if isinstance(want, tuple) else got == pytest.approx(want)
        if not ok or reason_of(output) != want_reason:
            wrong.append(f"{output['id']}: got ({got}, {reason_of(output)}), expected ({want}, {want_reason})")
    assert not wrong, "\n".join(wrong)


def test_label_example_has_correct_wrong_hacking_and_broken_samples() -> None:
    # The label example is the showcase: it must keep all four kinds of sample.
    scores = [v[0] for v in EXPECTED["label"].values()]
    reasons = {v[1] for v in EXPECTED["label"].values()}
    assert scores.count(1.0) >= 8 and 0.1 in scores
    assert {"multiple_answers", "no_answer", "missing_id", "no_assistant_message"} <= reasons
