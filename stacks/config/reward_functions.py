"""One reward function: ``environments.<env>.reward_functions.<name>``.

Its kind (and so its handler, asset and permissions) is derived from what its reward spec
needs (``reward_kit.kinds``); ``kind`` in cdk.json is optional and, when given, must agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from reward_kit import kinds
from reward_kit.deadline import grading_seconds
from reward_kit.settings import DEFAULT_LOG_LEVEL, POWERTOOLS_LEVEL_FOR, RuntimeSettings
from reward_kit.spec import SpecError, canonical_spec_json, grader_time_limits, spec_hash, validate_spec
from stacks import capacity, judge_capacity
from stacks.judge_capacity import JudgeNeed, JudgeTokens

from . import judge as judge_config
from .deployment import DeploymentConfig
from .errors import CHECKS, NAME_RE, ConfigError
from .judge import JudgeConfig
from .training_shape import TrainingShape, function_rate

KEYS = (
    "expected_seconds_per_sample",
    "kind",
    "live_version",
    "memory_mb",
    "provisioned_concurrency",
    "reward_spec",
    "samples_per_invocation",
    "target_evaluations_per_second",
    "timeout_seconds",
    "training_shape",
    *judge_config.KEYS,
)

FUNCTION_NAME_PREFIX = "SageMaker-reward"  # HyperPod/SageMaker policies need "SageMaker" in the name
LAMBDA_FUNCTION_NAME_MAX = 64
LAMBDA_ENVIRONMENT_MAX_BYTES = 4096  # Lambda's limit on all environment variables together
MEMORY_MB_RANGE = (128, 10240)
TIMEOUT_SECONDS_RANGE = (30, capacity.LAMBDA_MAX_TIMEOUT_SECONDS)
DEFAULT_MEMORY_MB = 1024
DEFAULT_TIMEOUT_SECONDS = 300
KIND_HANDLERS = {name: kind.handler for name, kind in kinds.FUNCTION_KINDS.items()}
_NEED_WORDS = {kinds.NEEDS_JUDGE: "a Bedrock judge", kinds.NEEDS_SANDBOX: "a code sandbox"}


@dataclass(frozen=True)
class RewardFunctionConfig:
    name: str
    kind: str
    handler: str
    function_name: str  # [<prefix>-]SageMaker-reward-<name>-<env>[-<suffix>]
    reward_spec_json: str  # compact JSON of the normalized (validated) spec
    memory_mb: int
    timeout_seconds: int
    target_evaluations_per_second: float
    expected_seconds_per_sample: float
    samples_per_invocation: int
    reserved_concurrency: int  # from the capacity model
    provisioned_concurrency: int | None = None
    judge: JudgeConfig | None = None  # when the spec needs a Bedrock judge
    log_level: str = DEFAULT_LOG_LEVEL  # the environment's application log level (Lambda's name)
    live_version: int | None = None  # pin the live alias to this published version (rollback)
    training_shape: TrainingShape | None = None  # what target_evaluations_per_second was derived from

    @property
    def spec_hash(self) -> str:
        """Short hash of the normalized spec (``reward_kit.spec.spec_hash``, as the dry run prints it)."""
        return spec_hash(self.reward_spec)

    @property
    def reward_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = json.loads(self.reward_spec_json)
        return spec

    @property
    def runtime_settings(self) -> RuntimeSettings:
        return RuntimeSettings(
            reward_spec=self.reward_spec_json,
            function_name=self.name,
            service_name=self.function_name,
            # Lambda's level governs once deployed; Powertools gets the same one for local runs.
            log_level=POWERTOOLS_LEVEL_FOR.get(self.log_level, self.log_level),
            judge_model_id=self.judge_model_id,
            judge_max_concurrency=self.judge_max_concurrency,
            judge_cache_entries=self.judge.cache_entries if self.judge else None,
            judge_prompt_caching=self.judge.prompt_caching if self.judge else True,
            judge_prompt_cache_min_tokens=self.judge.prompt_cache_min_tokens if self.judge else None,
        )

    def environment_variables(self) -> dict[str, str]:
        """The Lambda's environment (the construct sets it; parsing checks its size)."""
        return self.runtime_settings.to_env()

    @property
    def construct_name(self) -> str:
        """PascalCase name used in construct ids and stack output names, e.g. ``Gsm8kV2``."""
        return "".join(part[:1].upper() + part[1:] for part in self.name.split("-"))

    # The judge's settings, flat (None / () without a judge).
    @property
    def judge_model_id(self) -> str | None:
        return self.judge.model_id if self.judge else None

    @property
    def judge_inference_profile_regions(self) -> tuple[str, ...]:
        return self.judge.inference_profile_regions if self.judge else ()

    @property
    def judge_max_concurrency(self) -> int | None:
        return self.judge.max_concurrency if self.judge else None

    @property
    def judge_is_inference_profile(self) -> bool:
        return self.judge is not None and self.judge.is_inference_profile

    @property
    def judge_tokens(self) -> JudgeTokens:
        """Bedrock tokens one sample costs, input and output apart (every judge call of the spec,
        configured or estimated); zero without a judge. The quota check and the cost model both
        read this, so they never disagree."""
        if self.judge is None:
            return JudgeTokens(0, 0)
        return judge_capacity.tokens_per_sample(self.reward_spec, self.judge.input_tokens_per_call,
                                                self.judge.output_tokens_per_call)

    @property
    def judge_tokens_per_sample(self) -> int:
        """Bedrock tokens (input + output) one sample costs; 0 without a judge."""
        return self.judge_tokens.total

    @property
    def judge_calls_per_sample(self) -> int:
        return len(judge_capacity.judge_specs(self.reward_spec)) if self.judge else 0

    @property
    def judge_need(self) -> JudgeNeed | None:
        """What this function asks of its judge model at its target rate (None without a judge)."""
        if self.judge is None:
            return None
        return judge_capacity.judge_need(self.name, self.judge.model_id, self.target_evaluations_per_second,
                                         self.judge_calls_per_sample, self.judge_tokens_per_sample)


def function_name_for(function: str, environment: str, deployment: DeploymentConfig | None = None) -> str:
    """``SageMaker-reward-<function>-<env>``, with the environment's optional name prefix/suffix."""
    return (deployment or DeploymentConfig()).affixed(f"{FUNCTION_NAME_PREFIX}-{function}-{environment}")


def _kind(path: str, raw: Any, spec: dict[str, Any]) -> str:
    """The function kind the spec implies; a given ``kind`` must be that one."""
    needs = kinds.spec_needs(spec)
    implied = kinds.function_kind_for(needs)
    available = sorted(kinds.FUNCTION_KINDS)
    given = raw.get("kind")
    if given is not None and given in kinds.PLANNED_FUNCTION_KINDS:
        raise CHECKS.fail(f"{path}.kind", f"{given!r} is not available yet (no runtime ships for it); "
                          f"available kinds: {available}")
    if given is not None and given not in kinds.FUNCTION_KINDS:
        raise CHECKS.fail(f"{path}.kind", f"must be one of {available} (or omitted: derived from reward_spec)", given)
    if implied is None:
        for conflict, why in kinds.CONFLICTING_NEEDS.items():
            if conflict <= needs:
                raise CHECKS.fail(f"{path}.reward_spec", why)
        missing = sorted(needs - {kinds.NEEDS_NOTHING})
        raise CHECKS.fail(f"{path}.reward_spec", f"needs {missing}, which no available kind {available} provides yet")
    if given is not None and given != implied:
        why = ", ".join(_NEED_WORDS[n] for n in sorted(needs) if n in _NEED_WORDS) or "no platform service"
        raise CHECKS.fail(f"{path}.kind", f"the reward_spec implies kind {implied!r} (its graders need {why}); "
                          f"set kind {implied!r} or omit kind", given)
    return implied


def parse_function(
    env: str, name: str, raw: Any, *, headroom: float, overhead: float, log_level: str = DEFAULT_LOG_LEVEL,
    deployment: DeploymentConfig | None = None, training_shape: TrainingShape | None = None,
) -> RewardFunctionConfig:
    path = f"environments.{env}.reward_functions.{name}"
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise CHECKS.fail(path, "function names must match [a-z0-9-] (start and end with a letter or digit)")
    raw = CHECKS.object(path, raw)
    CHECKS.no_unknown_keys(path, raw, KEYS)
    function_name = _function_name(path, name, env, deployment)
    spec_path = f"{path}.reward_spec"
    spec = _spec(path, raw)
    kind = _kind(path, raw, spec)

    memory_mb = CHECKS.integer(f"{path}.memory_mb", raw.get("memory_mb", DEFAULT_MEMORY_MB),
                               ge=MEMORY_MB_RANGE[0], le=MEMORY_MB_RANGE[1])
    timeout_seconds = CHECKS.integer(f"{path}.timeout_seconds", raw.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
                                     ge=TIMEOUT_SECONDS_RANGE[0], le=TIMEOUT_SECONDS_RANGE[1])
    rate, shape = function_rate(path, raw, training_shape)
    per_sample = CHECKS.number(f"{path}.expected_seconds_per_sample",
                               CHECKS.required(path, raw, "expected_seconds_per_sample", "a number > 0"), gt=0)
    batch = CHECKS.integer(f"{path}.samples_per_invocation", raw.get("samples_per_invocation", 1), ge=1)
    _check_timeout(path, timeout_seconds, per_sample, batch, overhead)
    _check_grader_time_limits(path, spec, timeout_seconds)
    reserved = capacity.reserved_concurrency(rate, per_sample, batch, headroom=headroom,
                                             invocation_overhead_seconds=overhead)
    provisioned = _provisioned(path, raw, reserved)
    live_version = raw.get("live_version")
    if live_version is not None:
        live_version = CHECKS.integer(f"{path}.live_version", live_version, ge=1)

    function = RewardFunctionConfig(
        name=name,
        kind=kind,
        handler=KIND_HANDLERS[kind],
        function_name=function_name,
        reward_spec_json=canonical_spec_json(spec),
        memory_mb=memory_mb,
        timeout_seconds=timeout_seconds,
        target_evaluations_per_second=rate,
        expected_seconds_per_sample=per_sample,
        samples_per_invocation=batch,
        reserved_concurrency=reserved,
        provisioned_concurrency=provisioned,
        judge=_judge(path, raw, spec, kind),
        log_level=log_level,
        live_version=live_version,
        training_shape=shape,
    )
    _check_environment_size(spec_path, function)
    return function


def _function_name(path: str, name: str, env: str, deployment: DeploymentConfig | None) -> str:
    function_name = function_name_for(name, env, deployment)
    if len(function_name) > LAMBDA_FUNCTION_NAME_MAX:
        raise CHECKS.fail(
            path,
            f"function name {function_name!r} is {len(function_name)} characters; Lambda allows "
            f"{LAMBDA_FUNCTION_NAME_MAX}: shorten the function or environment name (or name_prefix/name_suffix)",
        )
    return function_name


def _spec(path: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The validated reward spec (``reward_kit.spec``'s errors, at the spec's key path)."""
    raw_spec = CHECKS.required(path, raw, "reward_spec", "a REWARD_SPEC object, e.g. {\"grader\": \"numeric\"}")
    try:
        return validate_spec(raw_spec, key=f"{path}.reward_spec")
    except SpecError as exc:
        raise ConfigError(str(exc)) from None


def _check_timeout(path: str, timeout_seconds: int, per_sample: float, batch: int, overhead: float) -> None:
    if not capacity.timeout_fits(timeout_seconds, per_sample, batch, overhead):
        expected = capacity.seconds_per_invocation(per_sample, batch, overhead)
        raise CHECKS.fail(
            f"{path}.timeout_seconds",
            f"{timeout_seconds} s does not cover {capacity.TIMEOUT_SAFETY_FACTOR:g} x the expected "
            f"invocation time of {expected:g} s (samples_per_invocation {batch} x "
            f"expected_seconds_per_sample {per_sample:g} + {overhead:g} s overhead); raise "
            f"timeout_seconds (max {TIMEOUT_SECONDS_RANGE[1]}) or lower samples_per_invocation",
        )


def _check_grader_time_limits(path: str, spec: dict[str, Any], timeout_seconds: int) -> None:
    window = grading_seconds(timeout_seconds)
    for limit_path, limit in grader_time_limits(spec, f"{path}.reward_spec"):
        if limit > window:
            raise CHECKS.fail(
                limit_path,
                f"{limit:g} s cannot fit in {path}.timeout_seconds {timeout_seconds} (at most {window:g} s of it "
                "is left for grading); lower the grader's time limit or raise timeout_seconds",
            )


def _provisioned(path: str, raw: Mapping[str, Any], reserved: int) -> int | None:
    provisioned = raw.get("provisioned_concurrency")
    if provisioned is None:
        return None
    provisioned = CHECKS.integer(f"{path}.provisioned_concurrency", provisioned, ge=1)
    if provisioned > reserved:
        raise CHECKS.fail(
            f"{path}.provisioned_concurrency",
            f"must be an integer in 1..{reserved} (the reserved concurrency the capacity model "
            f"gives this function)",
            provisioned,
        )
    return provisioned


def _judge(path: str, raw: Mapping[str, Any], spec: dict[str, Any], kind: str) -> JudgeConfig | None:
    if kinds.NEEDS_JUDGE in kinds.spec_needs(spec):
        return judge_config.parse_judge(path, raw)
    judge_config.reject_judge_keys(path, raw, kind)
    return None


def _check_environment_size(spec_path: str, function: RewardFunctionConfig) -> None:
    size = sum(len(k.encode()) + len(v.encode()) for k, v in function.environment_variables().items())
    if size > LAMBDA_ENVIRONMENT_MAX_BYTES:
        raise CHECKS.fail(
            spec_path,
            f"the normalized spec makes the Lambda environment {size} bytes; Lambda allows "
            f"{LAMBDA_ENVIRONMENT_MAX_BYTES}: shorten the spec (e.g. fewer labels/aliases, a smaller schema)",
        )
