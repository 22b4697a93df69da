"""Per-environment configuration: cdk.json context -> frozen, validated dataclasses.

Only ``app.py`` reads CDK context; it hands the raw ``environments`` object to
``parse_environments`` and every stack/construct receives the typed result. This package
imports no CDK code, so the validation is unit-tested without a synth.

One module per concern, each parsing its own keys into its own frozen dataclass (a new
capability adds a module and a field of ``EnvironmentConfig``)::

    deployment.py        account, region                              -> DeploymentConfig
    observability.py     log_retention_days, tracing, alarm_email,
                         application_log_level, system_log_level      -> ObservabilityConfig
    sizing.py            account_concurrency_limit, headroom, ...     -> SizingConfig (+ account pools)
    training.py          training.{bucket, data_prefix, output_prefix} -> TrainingDataConfig
    reward_functions.py  reward_functions.<name>                       -> RewardFunctionConfig
    judge.py             reward_functions.<name>.judge_*               -> JudgeConfig
    evaluators.py        evaluator_registration                        -> EvaluatorRegistrationConfig
    bedrock_quotas.py    bedrock_quotas.<judge model id>               -> BedrockQuotasConfig (+ judge sizing)
    code_sandbox.py      code_sandbox.{cidr | vpc_id, subnet_ids, ..., executor}
                                                                       -> CodeSandboxConfig
    alarms.py            alarms.{enabled, thresholds, windows}         -> AlarmsConfig
    guardrails.py        tags (+ app-wide context.tags), permissions_boundary, customer_managed_keys
                                                                       -> GuardrailsConfig
    pipeline.py          context.pipeline (app-wide, optional)         -> PipelineConfig | None

Every problem raises ``ConfigError`` with ONE line that starts with the key path, in the
style of ``reward_kit.checks`` (``path: rule, got value``)::

    environments.prod.reward_functions.sentiment.target_evaluations_per_second: must be a finite number > 0, got -5

The JSON Schema ``schemas/environments.schema.json`` describes the same keys for editors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from stacks import capacity

from . import bedrock_quotas, code_sandbox, deployment, evaluators, guardrails, observability, sizing, training_shape
from .alarms import AlarmsConfig, parse_alarms
from .bedrock_quotas import BedrockQuotasConfig, check_judge_quotas, parse_bedrock_quotas
from .code_sandbox import (
    EXECUTOR_LABEL,
    EXECUTOR_NAME_PREFIX,
    CodeSandboxConfig,
    ExecutorConfig,
    parse_code_sandbox,
    resolve_executor,
)
from .deployment import REMOVAL_POLICIES, DeploymentConfig, parse_deployment
from .errors import CHECKS, NAME_RE, ConfigError
from .evaluators import (
    EvaluatorConfig,
    EvaluatorRegistrationConfig,
    check_shared_registry,
    parse_evaluator_registration,
)
from .guardrails import GuardrailsConfig, parse_guardrails, parse_tags
from .judge import JudgeConfig, is_inference_profile_id
from .observability import LOG_RETENTION_DAYS, ObservabilityConfig, parse_observability
from .pipeline import PipelineConfig, parse_pipeline
from .reward_functions import KIND_HANDLERS, RewardFunctionConfig, function_name_for, parse_function
from .sizing import SizingConfig, check_reservable, parse_sizing
from .training import TrainingDataConfig, parse_training

__all__ = [
    "AlarmsConfig",
    "KIND_HANDLERS",
    "NAME_OVERRIDE_KEYS",
    "LOG_RETENTION_DAYS",
    "BedrockQuotasConfig",
    "CodeSandboxConfig",
    "ConfigError",
    "DeploymentConfig",
    "EnvironmentConfig",
    "EvaluatorConfig",
    "EvaluatorRegistrationConfig",
    "ExecutorConfig",
    "GuardrailsConfig",
    "JudgeConfig",
    "ObservabilityConfig",
    "REMOVAL_POLICIES",
    "PipelineConfig",
    "RewardFunctionConfig",
    "SizingConfig",
    "TrainingDataConfig",
    "function_name_for",
    "is_inference_profile_id",
    "parse_environments",
    "parse_pipeline",
    "select_environments",
    "unpinned_environment_warning",
    "with_name_overrides",
]

# Each concern owns its keys; the environment object is their union.
ENVIRONMENT_KEYS = (
    "alarms", "reward_functions", "training", *deployment.KEYS, *observability.KEYS, *sizing.KEYS,
    *evaluators.KEYS, *bedrock_quotas.KEYS, *code_sandbox.KEYS, *guardrails.KEYS, *training_shape.KEYS,
)


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    training: TrainingDataConfig
    reward_functions: tuple[RewardFunctionConfig, ...]
    deployment: DeploymentConfig = field(default_factory=DeploymentConfig)
    observability: ObservabilityConfig = field(default_factory=ObservabilityConfig)
    sizing: SizingConfig = field(default_factory=SizingConfig)
    evaluator_registration: EvaluatorRegistrationConfig = field(default_factory=EvaluatorRegistrationConfig)
    bedrock_quotas: BedrockQuotasConfig = field(default_factory=BedrockQuotasConfig)
    code_sandbox: CodeSandboxConfig = field(default_factory=CodeSandboxConfig)
    alarms: AlarmsConfig = field(default_factory=AlarmsConfig)
    guardrails: GuardrailsConfig = field(default_factory=GuardrailsConfig)

    @property
    def runs_code(self) -> bool:
        """Some function runs generated code: the stack builds (or attaches) the sandbox network."""
        return any(fn.kind == "code" for fn in self.reward_functions)

    # Flat views of the concerns' settings, for the stack and the tests.
    @property
    def account(self) -> str | None:
        return self.deployment.account

    @property
    def region(self) -> str | None:
        return self.deployment.region

    @property
    def production(self) -> bool:
        return self.deployment.production

    @property
    def log_retention_days(self) -> int:
        return self.observability.log_retention_days

    @property
    def tracing(self) -> bool:
        return self.observability.tracing

    @property
    def alarm_email(self) -> str | None:
        return self.observability.alarm_email

    @property
    def application_log_level(self) -> str:
        return self.observability.application_log_level

    @property
    def system_log_level(self) -> str:
        return self.observability.system_log_level

    @property
    def account_concurrency_limit(self) -> int:
        return self.sizing.account_concurrency_limit

    @property
    def headroom(self) -> float:
        return self.sizing.headroom

    @property
    def invocation_overhead_seconds(self) -> float:
        return self.sizing.invocation_overhead_seconds

    @property
    def executor_function_name(self) -> str:
        """``rft-code-executor-<env>`` (affixed): shorter than any reward function's name, so it
        fits Lambda's 64 characters whenever they do; no ``SageMaker`` in it, so the SageMaker
        managed policies that invoke ``*SageMaker*`` functions cannot call it."""
        return self.deployment.affixed(f"{EXECUTOR_NAME_PREFIX}-{self.name}")

    @property
    def executor_reserved_concurrency(self) -> int:
        """The code executor's (``stacks.capacity.executor_concurrency``); 0 without code functions."""
        return capacity.executor_concurrency(
            (fn.reserved_concurrency, fn.samples_per_invocation) for fn in self.reward_functions if fn.kind == "code"
        )

    @property
    def total_reserved_concurrency(self) -> int:
        return sum(fn.reserved_concurrency for fn in self.reward_functions) + self.executor_reserved_concurrency

    def function(self, name: str) -> RewardFunctionConfig:
        for fn in self.reward_functions:
            if fn.name == name:
                return fn
        raise KeyError(name)


def _parse_functions(path: str, env: str, raw: Mapping[str, Any], sizing_config: SizingConfig,
                     observability_config: ObservabilityConfig,
                     deployment_config: DeploymentConfig) -> tuple[RewardFunctionConfig, ...]:
    functions_raw = CHECKS.object(f"{path}.reward_functions", CHECKS.required(
        path, raw, "reward_functions", "an object {name: function config}"))
    if not functions_raw:
        raise CHECKS.fail(f"{path}.reward_functions", "must define at least one reward function")
    shape = (training_shape.parse_training_shape(f"{path}.training_shape", raw["training_shape"])
             if "training_shape" in raw else None)
    functions = tuple(
        parse_function(env, name, fn, headroom=sizing_config.headroom,
                       overhead=sizing_config.invocation_overhead_seconds,
                       log_level=observability_config.application_log_level, deployment=deployment_config,
                       training_shape=shape)
        for name, fn in functions_raw.items()
    )
    seen: dict[str, str] = {}
    for fn in functions:
        # Construct ids and output names drop the hyphens ("a-1b" and "a1b" are both "A1b").
        if fn.construct_name in seen:
            raise CHECKS.fail(f"{path}.reward_functions.{fn.name}",
                              f"collides with {seen[fn.construct_name]!r}: both become {fn.construct_name!r} "
                              f"in construct ids and stack outputs; rename one")
        seen[fn.construct_name] = fn.name
    return functions


def _check_concurrency(path: str, sizing_config: SizingConfig, functions: tuple[RewardFunctionConfig, ...]) -> None:
    """The functions' and the code executor's reserved concurrency fit the account's limit."""
    reserved = {fn.name: fn.reserved_concurrency for fn in functions}
    executor = capacity.executor_concurrency(
        (fn.reserved_concurrency, fn.samples_per_invocation) for fn in functions if fn.kind == "code")
    advice = ("; lower target_evaluations_per_second or expected_seconds_per_sample, raise "
              "samples_per_invocation, or request a Lambda quota increase and set account_concurrency_limit")
    if executor:
        reserved[EXECUTOR_LABEL] = executor
        advice += ("; the code executor needs each code function's reserved concurrency x samples_per_invocation "
                   "(a larger batch does not lower it)")
    check_reservable(f"{path}.account_concurrency_limit", sizing_config.account_concurrency_limit, reserved,
                     advice=advice)


def _parse_environment(env: str, raw: Any, app_tags: Mapping[str, str]) -> EnvironmentConfig:
    path = f"environments.{env}"
    if not isinstance(env, str) or not NAME_RE.fullmatch(env):
        raise CHECKS.fail(path, "environment names must match [a-z0-9-] (start and end with a letter or digit)")
    raw = CHECKS.object(path, raw)
    CHECKS.no_unknown_keys(path, raw, ENVIRONMENT_KEYS)

    deployment_config = parse_deployment(path, raw)
    observability_config = parse_observability(path, raw)
    sizing_config = parse_sizing(path, raw)
    quotas = parse_bedrock_quotas(path, raw)
    code_sandbox_config = parse_code_sandbox(path, raw)
    alarms_config = parse_alarms(f"{path}.alarms", raw.get("alarms"))
    guardrails_config = parse_guardrails(path, raw, app_tags)
    training = parse_training(
        f"{path}.training",
        CHECKS.required(path, raw, "training", "an object {bucket, data_prefix, output_prefix}"),
    )

    functions = _parse_functions(path, env, raw, sizing_config, observability_config, deployment_config)
    code_sandbox_config = resolve_executor(path, code_sandbox_config, functions)
    _check_concurrency(path, sizing_config, functions)
    # Bedrock quotas are per account, region and model: the environment's functions share them.
    check_judge_quotas(path, (fn.judge_need for fn in functions if fn.judge_need is not None), quotas)
    return EnvironmentConfig(
        name=env,
        training=training,
        reward_functions=functions,
        deployment=deployment_config,
        observability=observability_config,
        sizing=sizing_config,
        evaluator_registration=parse_evaluator_registration(path, raw, env, functions),
        bedrock_quotas=quotas,
        code_sandbox=code_sandbox_config,
        alarms=alarms_config,
        guardrails=guardrails_config,
    )


def parse_environments(raw: Any, tags: Any = None) -> dict[str, EnvironmentConfig]:
    """Validate the ``environments`` context object; returns {name: EnvironmentConfig} in order.
    ``tags``: the app-wide ``context.tags`` ({key: value}), merged under each environment's own."""
    app_tags = parse_tags("tags", tags) if tags is not None else {}
    if raw is None:
        raise CHECKS.fail("environments", "missing from cdk.json context (an object {env name: settings})")
    raw = CHECKS.object("environments", raw)
    if not raw:
        raise CHECKS.fail("environments", "must define at least one environment")
    envs = {name: _parse_environment(name, value, app_tags) for name, value in raw.items()}

    # Environments deployed to the same account and region draw on one concurrency pool.
    pools: dict[tuple[str, str], list[EnvironmentConfig]] = {}
    for env in envs.values():
        if env.account and env.region:
            pools.setdefault((env.account, env.region), []).append(env)
    for (account, region), members in pools.items():
        if len(members) > 1:  # a single environment was checked on its own
            check_reservable(
                f"environments.{members[-1].name}.account_concurrency_limit",
                min(env.account_concurrency_limit for env in members),
                {env.name: env.total_reserved_concurrency for env in members},
                context=f"environments {[env.name for env in members]} share account {account} in {region}: ",
            )
            check_shared_registry(account, region, [(env.name, env.evaluator_registration) for env in members])
            _check_shared_judge_quotas(members, account, region)
    return envs


def _check_shared_judge_quotas(members: list[EnvironmentConfig], account: str, region: str) -> None:
    """Environments in one account and region share each judge model's Bedrock quotas: their
    functions' needs are added up against the smallest quota any of them configures."""
    needs = [
        replace(need, function=f"{env.name}/{need.function}")
        for env in members
        for need in (fn.judge_need for fn in env.reward_functions)
        if need is not None
    ]
    for model_id in {need.model_id for need in needs}:
        configured = [(env, env.bedrock_quotas.for_model(model_id)) for env in members]
        owner, smallest = min(
            ((env, quota) for env, quota in configured if quota is not None),
            key=lambda pair: (pair[1].tokens_per_minute, pair[1].requests_per_minute),
        )
        check_judge_quotas(
            f"environments.{owner.name}",
            [need for need in needs if need.model_id == model_id],
            BedrockQuotasConfig(((model_id, smallest),)),
            where=f" in account {account} {region} (environments {[env.name for env in members]})",
        )


def select_environments(envs: Mapping[str, EnvironmentConfig], selected: Any) -> list[EnvironmentConfig]:
    """All environments, or only the one named by ``-c env=<name>``."""
    if selected is None or selected == "":
        return list(envs.values())
    if selected not in envs:
        raise CHECKS.fail("env", f"must be one of {list(envs)} (from -c env=<name>)", selected)
    return [envs[selected]]


NAME_OVERRIDE_KEYS = ("name_prefix", "name_suffix")


def with_name_overrides(raw: Any, selected: Any, overrides: Mapping[str, Any]) -> Any:
    """``raw`` with ``-c name_prefix=`` / ``-c name_suffix=`` applied to the selected environment.

    A second copy of an environment (a preview, another team) without editing cdk.json:
    ``cdk deploy -c env=dev -c name_suffix=alice``. The values are validated with the rest of
    that environment's config.
    """
    given = {key: value for key, value in overrides.items() if key in NAME_OVERRIDE_KEYS and value is not None}
    if not given:
        return raw
    if selected is None or selected == "":
        key = sorted(given)[0]
        raise CHECKS.fail(key, "applies to one environment: select it with -c env=<name>", given[key])
    if not isinstance(raw, Mapping) or not isinstance(raw.get(selected), Mapping):
        return raw  # select_environments reports the unknown environment
    return {**raw, selected: {**raw[selected], **given}}


def unpinned_environment_warning(envs: Sequence[EnvironmentConfig]) -> str | None:
    """One line naming every environment without an account (printed once per synth), or None."""
    unpinned = [env.name for env in envs if env.account is None]
    if not unpinned:
        return None
    return (f"warning: environments {unpinned} set no account/region: they deploy to whichever account and "
            "region your AWS credentials select (set account and region, or production: true to require them)")
