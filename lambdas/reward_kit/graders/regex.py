"""``regex`` grader: 1.0 when the pattern matches, else 0.0.

``target: answer`` (default) matches against the final answer region (reasoning stripped,
last solution/answer block); ``target: response`` against the whole final message. The text
is stripped of surrounding whitespace first. ``full_match: true`` uses ``re.fullmatch`` (the
whole text must match: no smuggling an answer next to other text); otherwise ``re.search``.
Anchors are the user's choice: without MULTILINE, ``^``/``$`` mean the whole text. An empty
answer always scores 0 (``no_answer``), even when the pattern could match "".

Cost: the pattern is compiled once in ``build()``. A pathological pattern (catastrophic
backtracking) is the spec author's responsibility, but the scanned text is bounded: texts
longer than ``MAX_SCAN_CHARS`` are not scanned and score 0 with reason ``answer_too_long``.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any, Mapping

from reward_kit.extraction import final_answer_region
from reward_kit.graders.base import GradeInput, GradeResult, Grader, GraderTraits, single_result, with_traits

MAX_SCAN_CHARS = 200_000
NO_REFERENCE = GraderTraits(requires_reference=False)
_FLAGS = {"IGNORECASE": re.IGNORECASE, "MULTILINE": re.MULTILINE, "DOTALL": re.DOTALL}


def build(spec: Mapping[str, Any]) -> Grader:
    name = spec.get("name") or spec["grader"]
    flags = 0
    for flag in spec.get("flags") or ():
        flags |= _FLAGS[flag]
    pattern = re.compile(spec["pattern"], flags)
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
