"""``regex`` grader: 1.0 when the pattern matches, else 0.0.

``target: answer`` (default) matches against the final answer region (reasoning stripped,
last solution/answer block); ``target: response`` against the whole final message. The text
is stripped of surrounding whitespace first. ``full_match: true`` needs the whole text to
match (no smuggling an answer next to other text); otherwise the pattern is searched for.
Anchors are the user's choice: without MULTILINE, ``^``/``$`` mean the whole text. An empty
answer always scores 0 (``no_answer``), even when the pattern could match "".

Cost: the pattern is compiled once in ``build()`` with RE2 (``reward_kit.patterns``), which
matches in time linear in the text whatever the pattern: no catastrophic backtracking, so this
grader stays in-process. The scanned text is bounded too: texts longer than
``MAX_SCAN_CHARS`` are not scanned and score 0 with reason ``answer_too_long``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Mapping

from reward_kit.extraction import final_answer_region
from reward_kit.graders.base import GradeInput, GradeResult, Grader, GraderTraits, single_result, with_traits
from reward_kit.patterns import compile_pattern

MAX_SCAN_CHARS = 200_000
NO_REFERENCE = GraderTraits(requires_reference=False)


def build(spec: Mapping[str, Any]) -> Grader:
    name = spec.get("name") or spec["grader"]
    pattern = compile_pattern(spec["pattern"], spec.get("flags") or ())
    whole_response = spec.get("target", "answer") == "response"
    matcher = pattern.fullmatch if spec.get("full_match", False) else pattern.search
    result = partial(single_result, name)

    def grade(sample: GradeInput) -> GradeResult:
        response = sample.response if isinstance(sample.response, str) else ""
        text = response.strip() if whole_response else final_answer_region(response)
        if len(text) > MAX_SCAN_CHARS:
            return result(0.0, "answer_too_long", {"matched": 0.0})
        if not text:
            # Empty never earns credit, even for patterns that match "" (e.g. r"(yes)?").
            return result(0.0, "no_answer", {"matched": 0.0})
        matched = float(matcher(text) is not None)
        return result(matched, None, {"matched": matched})

    return with_traits(grade, NO_REFERENCE)  # a format check needs no reference answer
