"""``regex`` grader: 1.0 when the pattern matches, else 0.0.

``target: answer`` (default) matches against the final answer region (reasoning stripped,
last solution/answer block); ``target: response`` against the whole final message. The text
is stripped of surrounding whitespace first. ``full_match: true`` needs the whole text to
match (no smuggling an answer next to other text); otherwise the pattern is searched for.
Anchors are the user's choice: without MULTILINE, ``^``/``$`` mean the whole text. An empty
answer always scores 0 (``no_answer``), even when the pattern could match "".

Cost: the pattern is compiled once in ``build()`` (``reward_kit.patterns``). With RE2 (every
pattern RE2 accepts) matching takes time linear in the text whatever the pattern: no
catastrophic backtracking, so the grader stays in-process. A pattern only the ``regex`` module
can run (lookaround, backreferences) backtracks, so the text decides its cost: the grader then
carries an ``Isolation`` and runs in a killable worker process (``reward_kit.isolation``), the
match itself limited by the module's ``timeout`` to the sample's budget (at most
``TIME_LIMIT_SECONDS``); out of time is ``grader_timeout``. The scanned text is bounded too:
texts longer than ``MAX_SCAN_CHARS`` are not scanned and score 0 with reason ``answer_too_long``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Mapping

from reward_kit.deadline import remaining_seconds
from reward_kit.extraction import final_answer_region
from reward_kit.graders.base import (
    GradeInput,
    GradeResult,
    Grader,
    GraderTraits,
    Isolation,
    single_result,
    with_traits,
)
from reward_kit.patterns import FLAGS, REGEX, PatternError, compile_pattern
from reward_kit.spec_checks import checks

MAX_SCAN_CHARS = 200_000
# Per sample, for a pattern the backtracking engine runs (the invocation's deadline may cut it
# shorter). A format check on an honest answer takes milliseconds.
TIME_LIMIT_SECONDS = 2.0
NO_REFERENCE = GraderTraits(requires_reference=False)
GRADER_TIMEOUT = "grader_timeout"
TARGETS = ("answer", "response")


# --- the spec ----------------------------------------------------------------------------------


def validate(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Check the spec's ``regex`` keys at ``path`` and write them, normalized, to ``out``."""
    if "pattern" not in spec:
        raise checks.fail(f"{path}.pattern", "required (a regular expression: RE2 syntax, or Python re syntax with lookaround or backreferences)")
    pattern = spec["pattern"]
    if not isinstance(pattern, str) or not pattern:
        raise checks.fail(f"{path}.pattern", "must be a non-empty string", pattern)
    flags = spec.get("flags", [])
    if not isinstance(flags, list):
        raise checks.fail(f"{path}.flags", f"must be a list of {sorted(FLAGS)}", flags)
    for i, flag in enumerate(flags):
        checks.one_of(f"{path}.flags[{i}]", flag, FLAGS)
    try:
        compile_pattern(pattern, flags)  # the grader's engines (RE2, else regex), so synth fails, not a cold start
    except PatternError as exc:
        raise checks.fail(f"{path}.pattern", str(exc)) from None
    out["pattern"] = pattern
    out["flags"] = sorted(set(flags))
    out["target"] = checks.one_of(f"{path}.target", spec.get("target", "answer"), TARGETS)
    out["full_match"] = checks.boolean(f"{path}.full_match", spec.get("full_match", False))


# --- the grader --------------------------------------------------------------------------------


def build(spec: Mapping[str, Any]) -> Grader:
    name = spec.get("name") or spec["grader"]
    pattern = compile_pattern(spec["pattern"], spec.get("flags") or ())
    backtracking = pattern.engine == REGEX
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
        if backtracking:
            left = remaining_seconds()  # in the worker: the sample's budget
            timeout = TIME_LIMIT_SECONDS if left is None else max(0.0, min(TIME_LIMIT_SECONDS, left))
            try:
                found = matcher(text, timeout=timeout)
            except TimeoutError:
                return result(0.0, GRADER_TIMEOUT, {"matched": 0.0})
        else:
            found = matcher(text)
        matched = float(found is not None)
        return result(matched, None, {"matched": matched})

    if not backtracking:
        return with_traits(grade, NO_REFERENCE)  # a format check needs no reference answer
    # The text decides a backtracking match's cost: build_grader runs this grader in a
    # killable worker with these outcomes.
    isolation = Isolation(
        time_limit=TIME_LIMIT_SECONDS,
        timeout_result=partial(result, 0.0, GRADER_TIMEOUT, {"matched": 0.0}),
        error_result=partial(result, 0.0, "grader_error", {"matched": 0.0}),
    )
    return with_traits(grade, GraderTraits(requires_reference=False, isolation=isolation))
