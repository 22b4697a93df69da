"""SageMaker AI Evaluator registration of an environment's reward functions.

``environments.<env>.evaluator_registration`` (optional; on by default)::

    "evaluator_registration": {
      "enabled": true,
      "studio_domain_id": "d-abc123def456",
      "evaluators": {"<function>": {"name": "gsm8k-accuracy", "description": "..."}}
    }

``studio_domain_id`` (optional): the SageMaker AI Studio domain whose users should see the
evaluators; it becomes the ``@domain:<id>`` search keyword the SDK sets (without it, the SDK's
change note says, Studio hides them; they stay usable by ARN).

Every reward function is registered; ``evaluators.<function>`` only overrides the name
(default: the function name) or the description (default: derived from the function). The
name rule and the description limit are SageMaker's (``evaluator_registration.ai_registry``,
tested against the botocore model). Evaluator names are unique within the environment, and
across environments that deploy to one account and region (they share one AI-registry hub).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from evaluator_registration import ai_registry

from .errors import CHECKS
from .reward_functions import RewardFunctionConfig

KEYS = ("evaluator_registration",)
_SECTION_KEYS = ("enabled", "evaluators", "studio_domain_id")
_DOMAIN_RE = re.compile(ai_registry.DOMAIN_ID_PATTERN)
_EVALUATOR_KEYS = ("description", "name")
_NAME_RE = re.compile(ai_registry.EVALUATOR_NAME_PATTERN)
_NAME_RULE = (f"a SageMaker hub content name: letters, digits and inner hyphens, at most "
              f"{ai_registry.EVALUATOR_NAME_MAX} characters ({ai_registry.EVALUATOR_NAME_PATTERN})")


@dataclass(frozen=True)
class EvaluatorConfig:
    function: str  # the reward function's name in cdk.json
    name: str  # hub content name (and display name) in the AI registry
    description: str


@dataclass(frozen=True)
class EvaluatorRegistrationConfig:
    enabled: bool = True
    evaluators: tuple[EvaluatorConfig, ...] = ()  # one per reward function, in config order
    studio_domain_id: str | None = None  # the @domain:<id> search keyword (Studio shows the evaluators)

    def evaluator(self, function: str) -> EvaluatorConfig:
        for evaluator in self.evaluators:
            if evaluator.function == function:
                return evaluator
        raise KeyError(function)


def default_description(env: str, fn: RewardFunctionConfig) -> str:
    return f"Nova RFT reward function '{fn.name}' ({env}): {fn.reward_spec.get('grader')} grader"


def parse_evaluator_registration(
    path: str, raw: Mapping[str, Any], env: str, functions: Sequence[RewardFunctionConfig]
) -> EvaluatorRegistrationConfig:
    path = f"{path}.evaluator_registration"
    section = CHECKS.object(path, raw.get("evaluator_registration", {}))
    CHECKS.no_unknown_keys(path, section, _SECTION_KEYS)
    enabled = CHECKS.boolean(f"{path}.enabled", section.get("enabled", True))
    domain_id = section.get("studio_domain_id")
    if domain_id is not None:
        domain_id = CHECKS.pattern(f"{path}.studio_domain_id", domain_id, _DOMAIN_RE,
                                   "a SageMaker AI Studio domain id like 'd-abc123def456' (Studio: Domains)")
    overrides = CHECKS.object(f"{path}.evaluators", section.get("evaluators", {}))
    function_names = [fn.name for fn in functions]
    for function in overrides:
        if function not in function_names:
            raise CHECKS.fail(f"{path}.evaluators.{function}",
                              f"must be one of this environment's reward functions {sorted(function_names)}")

    evaluators: list[EvaluatorConfig] = []
    registered_by: dict[str, str] = {}
    for fn in functions:
        item_path = f"{path}.evaluators.{fn.name}"
        item = CHECKS.object(item_path, overrides.get(fn.name, {}))
        CHECKS.no_unknown_keys(item_path, item, _EVALUATOR_KEYS)
        name = item.get("name", fn.function_name)
        if not isinstance(name, str) or len(name) > ai_registry.EVALUATOR_NAME_MAX:  # hyphens escape the regex's count
            raise CHECKS.fail(f"{item_path}.name", f"must be {_NAME_RULE}", name)
        name = CHECKS.pattern(f"{item_path}.name", name, _NAME_RE, _NAME_RULE)
        description = CHECKS.string(f"{item_path}.description", item.get("description", default_description(env, fn)))
        if len(description) > ai_registry.EVALUATOR_DESCRIPTION_MAX:
            raise CHECKS.fail(f"{item_path}.description",
                              f"must be at most {ai_registry.EVALUATOR_DESCRIPTION_MAX} characters", description)
        if name in registered_by:
            raise CHECKS.fail(f"{item_path}.name",
                              f"must be unique in the environment ({registered_by[name]!r} is registered as it too)", name)
        registered_by[name] = fn.name
        evaluators.append(EvaluatorConfig(function=fn.name, name=name, description=description))
    return EvaluatorRegistrationConfig(enabled=enabled, evaluators=tuple(evaluators), studio_domain_id=domain_id)


def check_shared_registry(account: str, region: str, members: Sequence[tuple[str, EvaluatorRegistrationConfig]]) -> None:
    """Environments deployed to one account and region register into one hub: names must differ."""
    registered_by: dict[str, str] = {}
    for env, registration in members:
        if not registration.enabled:
            continue
        for evaluator in registration.evaluators:
            if evaluator.name in registered_by:
                raise CHECKS.fail(
                    f"environments.{env}.evaluator_registration.evaluators.{evaluator.function}.name",
                    f"must differ from environment {registered_by[evaluator.name]!r}'s evaluator of that name "
                    f"(both deploy to account {account} in {region}, one AI registry)", evaluator.name)
            registered_by[evaluator.name] = env
