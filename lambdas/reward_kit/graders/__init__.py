"""Grader registry: grader kind -> module with a ``build(spec) -> Grader`` factory.

The kinds and their modules are listed once, in ``reward_kit.kinds.GRADER_KINDS``. The grader
modules import their heavy libraries lazily so a Lambda that only grades labels never pays for
``math-verify`` or ``jsonschema`` at cold start. Each factory returns a finished grader; one that differs from
the default ``GraderTraits`` (concurrency, timeout reason, reference, prompt, isolation)
attaches its traits with ``with_traits``, and ``multi`` combines its components' traits. A
grader whose traits carry an ``Isolation`` (its cost is the input's choice) comes back wrapped
in ``reward_kit.isolation.IsolatedGrader``: it runs in a worker process the deadline can kill.
"""

from __future__ import annotations

from typing import Any, Mapping

from reward_kit.graders.base import GradeInput, GradeResult, Grader, GraderTraits, traits_of, with_traits

__all__ = ["GradeInput", "GradeResult", "Grader", "GraderTraits", "build_grader", "traits_of", "with_traits"]



def build_grader(validated_spec: Mapping[str, Any]) -> Grader:
    """Build the grader for a spec already normalized by ``reward_kit.spec.validate_spec``."""
    from reward_kit.kinds import GRADER_KINDS  # lazy: the kinds table imports the grader modules

    grader_kind = GRADER_KINDS.get(validated_spec.get("grader"))  # type: ignore[arg-type]
    if grader_kind is None:
        raise ValueError(f"unknown grader kind {validated_spec.get('grader')!r}; expected one of {sorted(GRADER_KINDS)}")
    grader: Grader = grader_kind.build(validated_spec)
    if traits_of(grader).isolation is not None:
        from reward_kit import isolation

        if isolation.available():  # fork: everywhere but Windows (dry runs there grade in-process)
            return isolation.IsolatedGrader(grader)
    return grader
