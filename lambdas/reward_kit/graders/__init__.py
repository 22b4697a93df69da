"""Grader registry: grader kind -> module with a ``build(spec) -> Grader`` factory.

Modules are imported lazily so a Lambda that only grades labels never pays for
``math-verify`` or ``jsonschema`` at cold start. Each factory returns a finished grader,
including the optional attributes the Scorer reads (``concurrency``, ``timeout_reason``,
``requires_reference``, ``wants_prompt``; see ``reward_kit.scoring``): ``multi`` derives its
own from its components.
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


def build_grader(validated_spec: Mapping[str, Any]) -> Grader:
    """Build the grader for a spec already normalized by ``reward_kit.spec.validate_spec``."""
    kind = validated_spec.get("grader")
    module_name = GRADER_MODULES.get(kind)  # type: ignore[arg-type]
    if module_name is None:
        raise ValueError(f"unknown grader kind {kind!r}; expected one of {sorted(GRADER_MODULES)}")
    module = importlib.import_module(f"{__name__}.{module_name}")
    return module.build(validated_spec)
