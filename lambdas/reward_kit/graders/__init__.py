"""Grader registry: grader kind -> module with a ``build(spec) -> Grader`` factory.

Modules are imported lazily so a Lambda that only grades labels never pays for
``math-verify`` or ``jsonschema`` at cold start.
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping

from reward_kit.graders.base import Grader, GradeInput, GradeResult

__all__ = ["GRADER_MODULES", "GradeInput", "GradeResult", "Grader", "build_grader"]

# Kind as written in REWARD_SPEC -> module in this package ("math" would shadow the stdlib name).
GRADER_MODULES: dict[str, str] = {
    "label": "label",
    "numeric": "numeric",
    "math": "math_equiv",
    "json_schema": "json_schema",
    "regex": "regex",
    "multi": "multi",
    "judge": "judge",
}

# Kinds that grade without a reference answer.
_NO_REFERENCE_KINDS = frozenset({"judge", "regex"})


def build_grader(validated_spec: Mapping[str, Any]) -> Grader:
    """Build the grader for a spec already normalized by ``reward_kit.spec.validate_spec``."""
    kind = validated_spec.get("grader")
    module_name = GRADER_MODULES.get(kind)  # type: ignore[arg-type]
    if module_name is None:
        raise ValueError(f"unknown grader kind {kind!r}; expected one of {sorted(GRADER_MODULES)}")
    module = importlib.import_module(f"{__name__}.{module_name}")
    grader = module.build(validated_spec)
    if kind == "multi":
        _inherit_io_attributes(grader, validated_spec)
    return grader


def _inherit_io_attributes(grader: Grader, validated_spec: Mapping[str, Any]) -> None:
    """A ``multi`` grader calls its components one after the other for each sample, so it is
    as concurrent as its most concurrent component (a judge), times out like it, and needs a
    reference only if some component does. See ``reward_kit.scoring`` for the attributes.

    The components are built inside ``multi.build``; their attributes are recomputed here
    from the spec (cheap: the judge reads them from the environment) unless the multi grader
    already sets them itself.
    """
    components = list(validated_spec.get("graders", {}).values())
    judges = [c for c in components if c.get("grader") == "judge"]
    if not judges:
        return
    from reward_kit.graders import judge  # already imported: multi.build built the judge

    attributes = {
        "concurrency": judge.max_concurrency(),
        "timeout_reason": judge.JUDGE_TIMEOUT,
        # Correctness graders compare with the reference; a judge and a regex do not need one.
        "requires_reference": any(c.get("grader") not in _NO_REFERENCE_KINDS for c in components),
    }
    for name, value in attributes.items():
        if not hasattr(grader, name):
            try:
                setattr(grader, name, value)
            except (AttributeError, TypeError):  # pragma: no cover - a grader object without __dict__
                return
