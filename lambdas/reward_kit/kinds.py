"""The one table of grader kinds, and the function kinds derived from what they need.

Everything that depends on a grader kind reads ``GRADER_KINDS``: the spec validator (keys and
the module's ``validate``), the grader registry (the module's ``build``), ``multi`` (which
component's reason wins: the correctness graders'), and the CDK app (which function kind,
handler, asset and permissions a spec needs). Adding a grader kind is one row here plus its
own module (``validate`` next to ``build``).

Imported at synth time and at cold start, so the grader modules it names import only the
standard library and reward_kit's own light modules at import time; each loads what is heavy
(math-verify, jsonschema, boto3) when it first validates or builds. The judge package loads
its Bedrock client only when its ``build`` is first used.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Iterable, Mapping

from reward_kit.graders import code, json_schema, judge, label, math_equiv, multi, numeric, regex
from reward_kit.reasons import CODE_EXECUTOR_ERROR, MULTIPLE_ANSWERS, NO_ANSWER, NO_CODE

__all__ = [
    "FUNCTION_KINDS",
    "GRADER_KINDS",
    "NEEDS_JUDGE",
    "NEEDS_NOTHING",
    "NEEDS_SANDBOX",
    "CONFLICTING_NEEDS",
    "PLANNED_FUNCTION_KINDS",
    "FunctionKind",
    "GraderKind",
    "function_kind_for",
    "spec_needs",
    "validator_for",
]

# What a grader needs from the platform.
NEEDS_NOTHING = "nothing"
NEEDS_JUDGE = "judge"  # a Bedrock model: JUDGE_MODEL_ID and bedrock:InvokeModel on it
NEEDS_SANDBOX = "sandbox"  # an isolated code runner: the code function kind (stacks/code_sandbox)
# Needs no function can serve together, and why (one line, for synth and spec errors).
CONFLICTING_NEEDS: dict[frozenset[str], str] = {
    frozenset({NEEDS_JUDGE, NEEDS_SANDBOX}): (
        "a judge (needs the network to call Bedrock) and a code grader (runs in a sandbox without "
        "network) cannot share one reward function; use two functions"
    ),
}

# validate(path, spec, out): checks the kind's own keys of `spec` and writes them normalized to `out`.
KindValidator = Callable[[str, Mapping[str, Any], dict[str, Any]], None]


@dataclass(frozen=True)
class GraderKind:
    module: ModuleType  # its build(validated_spec) -> Grader and validate, a KindValidator
    keys: tuple[str, ...]  # the kind's own spec keys (besides grader/name/description/format_score)
    grades_correctness: bool  # judges whether the answer is right, not how it is formatted
    needs: str = NEEDS_NOTHING
    composite: bool = False  # holds component graders under "graders" (multi)
    # The answer-extraction failure reasons it reports (the dashboard's "no answer" and
    # "multiple answers" series; the EMF coverage test checks the shipped kinds emit them).
    answer_failures: tuple[str, ...] = ()
    # Grades samples that carry no reference answer (its GraderTraits.requires_reference is
    # False; a test checks the two agree).
    reference_free: bool = False
    # The reasons it gives a sample its executor failed on (the dashboard's executor series; an
    # executor that cannot run at all fails the invocation instead).
    executor_failures: tuple[str, ...] = ()

    @property
    def validate(self) -> KindValidator:
        validate: KindValidator = self.module.validate
        return validate

    @property
    def build(self) -> Callable[[Mapping[str, Any]], Any]:
        build: Callable[[Mapping[str, Any]], Any] = self.module.build
        return build


GRADER_KINDS: dict[str, GraderKind] = {
    # reference_key: the graders that read a reference answer (reward_kit.references).
    "label": GraderKind(
        label, ("labels", "aliases", "reference_key"), True,
        answer_failures=(NO_ANSWER, MULTIPLE_ANSWERS),
    ),
    "numeric": GraderKind(
        numeric,
        ("tolerance", "relative_tolerance", "reference_key"),
        True,
        answer_failures=(NO_ANSWER, MULTIPLE_ANSWERS),
    ),
    "math": GraderKind(
        math_equiv, ("timeout_seconds", "reference_key"), True,
        answer_failures=(NO_ANSWER, MULTIPLE_ANSWERS),
    ),
    "json_schema": GraderKind(
        json_schema,
        ("schema", "parse_score", "compare_reference", "reference_key"),
        True,
        answer_failures=(NO_ANSWER, MULTIPLE_ANSWERS),
    ),
    "regex": GraderKind(
        regex, ("pattern", "flags", "target", "full_match"), False,
        answer_failures=(NO_ANSWER,), reference_free=True,
    ),
    "multi": GraderKind(
        multi,
        ("graders", "weights", "gates", "length_penalty"),
        False,
        composite=True,
    ),
    "code": GraderKind(
        code,
        ("language", "timeout_seconds", "memory_mb", "max_output_bytes", "all_or_nothing", "reference_key",
         "prelude"),
        True,
        needs=NEEDS_SANDBOX,
        answer_failures=(NO_CODE,),
        executor_failures=(CODE_EXECUTOR_ERROR,),
    ),
    "judge": GraderKind(
        judge,
        (
            "rubric",
            "criteria",
            "max_score",
            "include_reference",
            "include_prompt",
            "max_tokens",
            "temperature",
            "max_response_chars",
        ),
        False,
        needs=NEEDS_JUDGE,
        reference_free=True,  # its failures are the judge group, not answer failures
    ),
}


def validator_for(kind: str) -> KindValidator:
    return GRADER_KINDS[kind].validate


def spec_needs(spec: Mapping[str, Any]) -> frozenset[str]:
    """What a validated spec needs from the platform, components of a composite included."""
    grader_kind = GRADER_KINDS[spec["grader"]]
    needs = {grader_kind.needs}
    if grader_kind.composite:
        for component in spec["graders"].values():
            needs |= spec_needs(component)
    return frozenset(needs)


@dataclass(frozen=True)
class FunctionKind:
    """A kind of reward Lambda: its entry point, its asset's packages, and what it can serve."""

    handler: str  # Lambda handler path inside its asset
    packages: tuple[str, ...]  # top-level folders of lambdas/ its asset holds
    serves: frozenset[str]  # needs it can satisfy


# Smallest first: a spec gets the first kind that serves all of its needs.
FUNCTION_KINDS: dict[str, FunctionKind] = {
    "rlvr": FunctionKind("rlvr.handler.handler", ("reward_kit", "rlvr"), frozenset({NEEDS_NOTHING})),
    "rlaif": FunctionKind("rlaif.handler.handler", ("reward_kit", "rlaif"), frozenset({NEEDS_NOTHING, NEEDS_JUDGE})),
    # Grades generated code: the programs run in the environment's code executor (its own function
    # and asset, code_sandbox); this function holds the tests and computes the verdicts.
    "code": FunctionKind(
        "code_grader.handler.handler", ("reward_kit", "code_grader"), frozenset({NEEDS_NOTHING, NEEDS_SANDBOX})
    ),
}
# In the design without a runtime yet (kind -> the need it would serve).
PLANNED_FUNCTION_KINDS: dict[str, str] = {}


def function_kind_for(needs: Iterable[str]) -> str | None:
    """The function kind a spec with these needs runs in; None when no shipped kind serves them."""
    wanted = frozenset(needs)
    return next((name for name, function_kind in FUNCTION_KINDS.items() if wanted <= function_kind.serves), None)
