"""Per-environment configuration: cdk.json context -> frozen, validated dataclasses.

Only ``app.py`` reads CDK context; it hands the raw ``environments`` object to
``parse_environments`` and every stack/construct receives the typed result. This module
imports no CDK code, so the validation is unit-tested without a synth.

Every problem raises ``ConfigError`` with ONE line that starts with the key path and says
what is allowed, e.g.::

    environments.prod.reward_functions.sentiment.target_evaluations_per_second: must be a number > 0, got -5

Keys (see README for the table)::

    environments.<env>:
      account, region                     optional; omit both for an environment-agnostic stack
      log_retention_days                  one of CloudWatch's values (default 30)
      alarm_email                         optional, validated address (reserved for alarms)
      account_concurrency_limit           Lambda concurrency quota of the account (default 1000)
      headroom                            capacity margin >= 1 (default 1.5)
      invocation_overhead_seconds         fixed cost per invocation (default 0.1)
      tracing                             X-Ray active tracing (default false)
      training: {bucket, data_prefix, output_prefix}
      reward_functions.<name>:
        kind                              rlvr | rlaif (code: not available yet)
        reward_spec                       REWARD_SPEC object (reward_kit.spec.validate_spec)
        memory_mb                         128..10240 (default 1024)
        timeout_seconds                   30..900 (default 300)
        target_evaluations_per_second     > 0 (required)
        expected_seconds_per_sample       > 0 (required)
        samples_per_invocation            >= 1 (default 1)
        provisioned_concurrency           optional, 1..reserved, on a `live` alias
        judge_model_id                    rlaif only, required
        judge_inference_profile_regions   rlaif with a cross-region inference profile id
        judge_max_concurrency             rlaif only, parallel judge calls per invocation (16)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from reward_kit import names
from reward_kit.spec import SpecError, uses_judge, validate_spec

from . import capacity

__all__ = [
    "ConfigError",
    "EnvironmentConfig",
    "RewardFunctionConfig",
    "TrainingDataConfig",
    "LOG_RETENTION_DAYS",
    "KIND_HANDLERS",
    "parse_environments",
    "select_environments",
]

# CloudWatch Logs' allowed retention values (PutRetentionPolicy), in days.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# Reward function kinds with a runtime in lambdas/, and their Lambda handler paths.
DEFAULT_JUDGE_MAX_CONCURRENCY = 16
JUDGE_MAX_CONCURRENCY_LIMIT = 64  # threads per invocation; more belongs in more invocations
KIND_HANDLERS = {"rlvr": "rlvr.handler.handler", "rlaif": "rlaif.handler.handler"}
# Kinds in the design without a runtime yet: rejected with a clear message.
PLANNED_KINDS = ("code",)

FUNCTION_NAME_PREFIX = "SageMaker-reward"  # HyperPod/SageMaker policies need "SageMaker" in the name
LAMBDA_FUNCTION_NAME_MAX = 64
LAMBDA_ENVIRONMENT_MAX_BYTES = 4096  # Lambda's limit on all environment variables together
MEMORY_MB_RANGE = (128, 10240)
TIMEOUT_SECONDS_RANGE = (30, capacity.LAMBDA_MAX_TIMEOUT_SECONDS)
DEFAULT_MEMORY_MB = 1024
DEFAULT_TIMEOUT_SECONDS = 300
DEFAULT_LOG_RETENTION_DAYS = 30
MAX_HEADROOM = 10.0

# Geography prefixes of Bedrock cross-region inference profile ids ("us.amazon.nova-pro-v1:0").
INFERENCE_PROFILE_GEOS = ("apac", "au", "ca", "eu", "global", "jp", "us", "us-gov")

_NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_ACCOUNT_RE = re.compile(r"\d{12}")
_REGION_RE = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX_RE = re.compile(r"[A-Za-z0-9!_.()'/-]+")
_MODEL_ID_RE = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:-[a-z0-9.]+)*(?::[a-z0-9.-]+)*")

ENVIRONMENT_KEYS = (
    "account",
    "account_concurrency_limit",
    "alarm_email",
    "headroom",
    "invocation_overhead_seconds",
    "log_retention_days",
    "region",
    "reward_functions",
    "tracing",
    "training",
)
TRAINING_KEYS = ("bucket", "data_prefix", "output_prefix")
FUNCTION_KEYS = (
    "expected_seconds_per_sample",
    "judge_inference_profile_regions",
    "judge_max_concurrency",
    "judge_model_id",
    "kind",
    "memory_mb",
    "provisioned_concurrency",
    "reward_spec",
    "samples_per_invocation",
    "target_evaluations_per_second",
    "timeout_seconds",
)


class ConfigError(ValueError):
    """Invalid cdk.json configuration; the message is one line naming the key."""


# --- dataclasses ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingDataConfig:
    bucket: str
    data_prefix: str  # no leading/trailing slash
    output_prefix: str


@dataclass(frozen=True)
class RewardFunctionConfig:
    name: str
    kind: str
    handler: str
    function_name: str  # SageMaker-reward-<name>-<env>
    reward_spec_json: str  # compact JSON of the normalized (validated) spec
    memory_mb: int
    timeout_seconds: int
    target_evaluations_per_second: float
    expected_seconds_per_sample: float
    samples_per_invocation: int
    reserved_concurrency: int  # from the capacity model
    provisioned_concurrency: int | None = None
    judge_model_id: str | None = None
    judge_inference_profile_regions: tuple[str, ...] = ()
    judge_max_concurrency: int | None = None  # parallel judge calls per invocation (rlaif)

    @property
    def reward_spec(self) -> dict[str, Any]:
        return json.loads(self.reward_spec_json)

    def environment_variables(self) -> dict[str, str]:
        """The Lambda's environment (the construct sets it; parsing checks its size)."""
        variables = {
            names.ENV_REWARD_SPEC: self.reward_spec_json,
            names.ENV_REWARD_FUNCTION_NAME: self.name,
            names.ENV_POWERTOOLS_SERVICE_NAME: self.function_name,
            names.ENV_POWERTOOLS_METRICS_NAMESPACE: names.METRIC_NAMESPACE,
            names.ENV_POWERTOOLS_LOG_LEVEL: "INFO",
        }
        if self.judge_model_id is not None:
            variables[names.ENV_JUDGE_MODEL_ID] = self.judge_model_id
        if self.judge_max_concurrency is not None:
            variables[names.ENV_JUDGE_MAX_CONCURRENCY] = str(self.judge_max_concurrency)
        return variables

    @property
    def construct_name(self) -> str:
        """PascalCase name used in construct ids and stack output names, e.g. ``Gsm8kV2``."""
        return "".join(part[:1].upper() + part[1:] for part in self.name.split("-"))

    @property
    def has_live_alias(self) -> bool:
        return self.provisioned_concurrency is not None

    @property
    def judge_is_inference_profile(self) -> bool:
        return self.judge_model_id is not None and is_inference_profile_id(self.judge_model_id)


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    training: TrainingDataConfig
    reward_functions: tuple[RewardFunctionConfig, ...]
    account: str | None = None
    region: str | None = None
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    alarm_email: str | None = None
    account_concurrency_limit: int = capacity.DEFAULT_ACCOUNT_CONCURRENCY_LIMIT
    headroom: float = capacity.DEFAULT_HEADROOM
    invocation_overhead_seconds: float = capacity.DEFAULT_INVOCATION_OVERHEAD_SECONDS
    tracing: bool = False

    @property
    def total_reserved_concurrency(self) -> int:
        return sum(fn.reserved_concurrency for fn in self.reward_functions)

    def function(self, name: str) -> RewardFunctionConfig:
        for fn in self.reward_functions:
            if fn.name == name:
                return fn
        raise KeyError(name)


# --- helpers ---------------------------------------------------------------------------------


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _fail(path: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: {message}".replace("\n", " "))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _object(path: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path, f"must be an object, got {_show(value)}")
    return value


def _no_unknown_keys(path: str, value: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in value:
        if key not in allowed:
            raise _fail(f"{path}.{key}", f"unknown key; allowed keys are {list(allowed)}")


def _required(path: str, value: Mapping[str, Any], key: str, what: str) -> Any:
    if key not in value or value[key] is None:
        raise _fail(f"{path}.{key}", f"required ({what})")
    return value[key]


def _number(path: str, value: Any, *, gt: float | None = None, ge: float | None = None,
            le: float | None = None) -> float:
    rules = []
    if gt is not None:
        rules.append(f"> {gt:g}")
    if ge is not None:
        rules.append(f">= {ge:g}")
    if le is not None:
        rules.append(f"<= {le:g}")
    if not _is_number(value) or (gt is not None and not value > gt) or (
        ge is not None and not value >= ge) or (le is not None and not value <= le):
        raise _fail(path, f"must be a number {' and '.join(rules)}, got {_show(value)}")
    return float(value)


def _integer(path: str, value: Any, *, ge: int, le: int | None = None) -> int:
    rule = f"must be an integer >= {ge}" if le is None else f"must be an integer in {ge}..{le}"
    if not _is_number(value) or not float(value).is_integer():
        raise _fail(path, f"{rule}, got {_show(value)}")
    value = int(value)
    if value < ge or (le is not None and value > le):
        raise _fail(path, f"{rule}, got {value}")
    return value


def _boolean(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, f"must be true or false, got {_show(value)}")
    return value


def _pattern(path: str, value: Any, regex: re.Pattern[str], rule: str) -> str:
    if not isinstance(value, str) or not regex.fullmatch(value):
        raise _fail(path, f"must be {rule}, got {_show(value)}")
    return value


def _prefix(path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip("/"):
        raise _fail(path, f"must be a non-empty S3 key prefix such as 'rft/train', got {_show(value)}")
    value = value.strip("/")
    if not _PREFIX_RE.fullmatch(value) or "//" in value:
        raise _fail(
            path,
            f"must use only letters, digits and !_.()'/- (no wildcards or empty segments), got {_show(value)}",
        )
    return value


def is_inference_profile_id(model_id: str) -> bool:
    """True for cross-region inference profile ids like ``us.amazon.nova-pro-v1:0``."""
    return model_id.split(".", 1)[0] in INFERENCE_PROFILE_GEOS


def function_name_for(function: str, environment: str) -> str:
    return f"{FUNCTION_NAME_PREFIX}-{function}-{environment}"


def _check_reservable(path: str, limit: int, reserved: Mapping[str, int], *, context: str = "",
                      advice: str = "") -> None:
    """Fail at ``path`` when the named reserved concurrencies do not fit an account ``limit``."""
    try:
        capacity.check_account_fits(reserved.values(), limit)
    except capacity.CapacityError as exc:
        listed = ", ".join(f"{name}={value}" for name, value in reserved.items())
        raise _fail(path, f"{context}{exc} ({listed}){advice}") from None


# --- parsing -------------------------------------------------------------------------------


def _parse_function(env: str, name: str, raw: Any, *, headroom: float, overhead: float) -> RewardFunctionConfig:
    path = f"environments.{env}.reward_functions.{name}"
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise _fail(path, "function names must match [a-z0-9-] (start and end with a letter or digit)")
    raw = _object(path, raw)
    _no_unknown_keys(path, raw, FUNCTION_KEYS)

    available = sorted(KIND_HANDLERS)
    kind = _required(path, raw, "kind", f"one of {available}")
    if kind in PLANNED_KINDS:
        raise _fail(
            f"{path}.kind",
            f"{_show(kind)} is not available yet (no runtime ships for it); available kinds: {available}",
        )
    if kind not in KIND_HANDLERS:
        raise _fail(f"{path}.kind", f"{_show(kind)} is not one of {available}")

    function_name = function_name_for(name, env)
    if len(function_name) > LAMBDA_FUNCTION_NAME_MAX:
        raise _fail(
            path,
            f"function name {function_name!r} is {len(function_name)} characters; Lambda allows "
            f"{LAMBDA_FUNCTION_NAME_MAX}: shorten the function or environment name",
        )

    spec_path = f"{path}.reward_spec"
    raw_spec = _required(path, raw, "reward_spec", "a REWARD_SPEC object, e.g. {\"grader\": \"numeric\"}")
    try:
        spec = validate_spec(raw_spec, key=spec_path)
    except SpecError as exc:
        raise ConfigError(str(exc)) from None
    spec_json = json.dumps(spec, separators=(",", ":"), sort_keys=True)

    memory_mb = _integer(f"{path}.memory_mb", raw.get("memory_mb", DEFAULT_MEMORY_MB),
                         ge=MEMORY_MB_RANGE[0], le=MEMORY_MB_RANGE[1])
    timeout_seconds = _integer(f"{path}.timeout_seconds", raw.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
                               ge=TIMEOUT_SECONDS_RANGE[0], le=TIMEOUT_SECONDS_RANGE[1])
    rate = _number(f"{path}.target_evaluations_per_second",
                   _required(path, raw, "target_evaluations_per_second", "a number > 0"), gt=0)
    per_sample = _number(f"{path}.expected_seconds_per_sample",
                         _required(path, raw, "expected_seconds_per_sample", "a number > 0"), gt=0)
    batch = _integer(f"{path}.samples_per_invocation", raw.get("samples_per_invocation", 1), ge=1)

    if not capacity.timeout_fits(timeout_seconds, per_sample, batch, overhead):
        expected = capacity.seconds_per_invocation(per_sample, batch, overhead)
        raise _fail(
            f"{path}.timeout_seconds",
            f"{timeout_seconds} s does not cover {capacity.TIMEOUT_SAFETY_FACTOR:g} x the expected "
            f"invocation time of {expected:g} s (samples_per_invocation {batch} x "
            f"expected_seconds_per_sample {per_sample:g} + {overhead:g} s overhead); raise "
            f"timeout_seconds (max {TIMEOUT_SECONDS_RANGE[1]}) or lower samples_per_invocation",
        )

    reserved = capacity.reserved_concurrency(rate, per_sample, batch, headroom=headroom,
                                             invocation_overhead_seconds=overhead)

    provisioned = raw.get("provisioned_concurrency")
    if provisioned is not None:
        provisioned = _integer(f"{path}.provisioned_concurrency", provisioned, ge=1)
        if provisioned > reserved:
            raise _fail(
                f"{path}.provisioned_concurrency",
                f"must be an integer in 1..{reserved} (the reserved concurrency the capacity model "
                f"gives this function), got {provisioned}",
            )

    judge_model_id = None
    regions: tuple[str, ...] = ()
    if kind == "rlaif":
        judge_model_id = _pattern(
            f"{path}.judge_model_id",
            _required(path, raw, "judge_model_id",
                      "a Bedrock model or inference profile id for the judge, e.g. 'amazon.nova-pro-v1:0' "
                      "or 'us.amazon.nova-pro-v1:0'"),
            _MODEL_ID_RE,
            "a Bedrock model id such as 'amazon.nova-pro-v1:0' or an inference profile id such as "
            "'us.amazon.nova-pro-v1:0'",
        )
        raw_regions = raw.get("judge_inference_profile_regions")
        if is_inference_profile_id(judge_model_id):
            if raw_regions is None:
                raise _fail(
                    f"{path}.judge_inference_profile_regions",
                    f"required when judge_model_id {judge_model_id!r} is a cross-region inference "
                    "profile: list every region the profile routes to, e.g. "
                    "['us-east-1', 'us-east-2', 'us-west-2']",
                )
            if not isinstance(raw_regions, list) or not raw_regions:
                raise _fail(f"{path}.judge_inference_profile_regions",
                            f"must be a non-empty list of region names, got {_show(raw_regions)}")
            regions = tuple(
                _pattern(f"{path}.judge_inference_profile_regions[{i}]", region, _REGION_RE,
                         "a region name such as 'us-east-1'")
                for i, region in enumerate(raw_regions)
            )
            if len(set(regions)) != len(regions):
                raise _fail(f"{path}.judge_inference_profile_regions", f"duplicate regions in {list(regions)}")
        elif raw_regions is not None:
            raise _fail(
                f"{path}.judge_inference_profile_regions",
                f"only valid when judge_model_id is a cross-region inference profile id (prefix one "
                f"of {list(INFERENCE_PROFILE_GEOS)}), got judge_model_id {judge_model_id!r}",
            )
    else:
        for key in ("judge_model_id", "judge_inference_profile_regions", "judge_max_concurrency"):
            if raw.get(key) is not None:
                raise _fail(f"{path}.{key}", f"only valid for kind 'rlaif', this function is kind {kind!r}")

    # Only rlaif functions get JUDGE_MODEL_ID and bedrock:InvokeModel: the spec must match the kind.
    if kind == "rlaif" and not uses_judge(spec):
        raise _fail(f"{spec_path}.grader",
                    "kind 'rlaif' needs a 'judge' grader (or a 'multi' with a 'judge' component); "
                    "use kind 'rlvr' for deterministic graders")
    if kind != "rlaif" and uses_judge(spec):
        raise _fail(f"{path}.kind",
                    f"the reward_spec uses a 'judge' grader, which needs kind 'rlaif' (with judge_model_id), "
                    f"got {kind!r}")
    judge_concurrency = None
    if kind == "rlaif":
        judge_concurrency = _integer(f"{path}.judge_max_concurrency",
                                     raw.get("judge_max_concurrency", DEFAULT_JUDGE_MAX_CONCURRENCY),
                                     ge=1, le=JUDGE_MAX_CONCURRENCY_LIMIT)

    function = RewardFunctionConfig(
        name=name,
        kind=kind,
        handler=KIND_HANDLERS[kind],
        function_name=function_name,
        reward_spec_json=spec_json,
        memory_mb=memory_mb,
        timeout_seconds=timeout_seconds,
        target_evaluations_per_second=rate,
        expected_seconds_per_sample=per_sample,
        samples_per_invocation=batch,
        reserved_concurrency=reserved,
        provisioned_concurrency=provisioned,
        judge_model_id=judge_model_id,
        judge_inference_profile_regions=regions,
        judge_max_concurrency=judge_concurrency,
    )
    size = sum(len(k.encode()) + len(v.encode()) for k, v in function.environment_variables().items())
    if size > LAMBDA_ENVIRONMENT_MAX_BYTES:
        raise _fail(
            spec_path,
            f"the normalized spec makes the Lambda environment {size} bytes; Lambda allows "
            f"{LAMBDA_ENVIRONMENT_MAX_BYTES}: shorten the spec (e.g. fewer labels/aliases, a smaller schema)",
        )
    return function


def _parse_environment(env: str, raw: Any) -> EnvironmentConfig:
    path = f"environments.{env}"
    if not isinstance(env, str) or not _NAME_RE.fullmatch(env):
        raise _fail(path, "environment names must match [a-z0-9-] (start and end with a letter or digit)")
    raw = _object(path, raw)
    _no_unknown_keys(path, raw, ENVIRONMENT_KEYS)

    account = raw.get("account")
    if account is not None:
        account = _pattern(f"{path}.account", account, _ACCOUNT_RE, "a 12-digit AWS account id (a string)")
    region = raw.get("region")
    if region is not None:
        region = _pattern(f"{path}.region", region, _REGION_RE, "a region name such as 'us-east-1'")
    if (account is None) != (region is None):
        missing = "region" if region is None else "account"
        raise _fail(f"{path}.{missing}", "set both account and region, or neither (environment-agnostic stack)")

    retention = raw.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS)
    if isinstance(retention, bool) or retention not in LOG_RETENTION_DAYS:
        raise _fail(f"{path}.log_retention_days",
                    f"must be one of {list(LOG_RETENTION_DAYS)}, got {_show(retention)}")
    retention = int(retention)  # 30.0 from JSON is 30

    alarm_email = raw.get("alarm_email")
    if alarm_email is not None:
        alarm_email = _pattern(f"{path}.alarm_email", alarm_email, _EMAIL_RE, "an email address like 'team@example.com'")

    limit = _integer(f"{path}.account_concurrency_limit",
                     raw.get("account_concurrency_limit", capacity.DEFAULT_ACCOUNT_CONCURRENCY_LIMIT),
                     ge=capacity.MIN_UNRESERVED_CONCURRENCY + 1)
    headroom = _number(f"{path}.headroom", raw.get("headroom", capacity.DEFAULT_HEADROOM), ge=1, le=MAX_HEADROOM)
    overhead = _number(f"{path}.invocation_overhead_seconds",
                       raw.get("invocation_overhead_seconds", capacity.DEFAULT_INVOCATION_OVERHEAD_SECONDS),
                       ge=0, le=60)
    tracing = _boolean(f"{path}.tracing", raw.get("tracing", False))

    training_raw = _object(f"{path}.training", _required(
        path, raw, "training", "an object {bucket, data_prefix, output_prefix}"))
    _no_unknown_keys(f"{path}.training", training_raw, TRAINING_KEYS)
    bucket = _pattern(
        f"{path}.training.bucket",
        _required(f"{path}.training", training_raw, "bucket", "the S3 bucket holding training data"),
        _BUCKET_RE,
        "an S3 bucket name (3-63 characters: lowercase letters, digits, '.' and '-')",
    )
    data_prefix = _prefix(f"{path}.training.data_prefix", _required(
        f"{path}.training", training_raw, "data_prefix", "the S3 key prefix of the training data"))
    output_prefix = _prefix(f"{path}.training.output_prefix", _required(
        f"{path}.training", training_raw, "output_prefix", "the S3 key prefix training jobs write to"))
    if output_prefix == data_prefix or output_prefix.startswith(data_prefix + "/") or data_prefix.startswith(
        output_prefix + "/"
    ):
        raise _fail(f"{path}.training.output_prefix",
                    f"must not overlap data_prefix {data_prefix!r} (jobs must not overwrite training data)")
    training = TrainingDataConfig(bucket=bucket, data_prefix=data_prefix, output_prefix=output_prefix)

    functions_raw = _object(f"{path}.reward_functions", _required(
        path, raw, "reward_functions", "an object {name: function config}"))
    if not functions_raw:
        raise _fail(f"{path}.reward_functions", "must define at least one reward function")
    functions = tuple(
        _parse_function(env, name, fn, headroom=headroom, overhead=overhead)
        for name, fn in functions_raw.items()
    )
    seen: dict[str, str] = {}
    for fn in functions:
        # Construct ids and output names drop the hyphens ("a-1b" and "a1b" are both "A1b").
        if fn.construct_name in seen:
            raise _fail(f"{path}.reward_functions.{fn.name}",
                        f"collides with {seen[fn.construct_name]!r}: both become {fn.construct_name!r} "
                        f"in construct ids and stack outputs; rename one")
        seen[fn.construct_name] = fn.name
    _check_reservable(
        f"{path}.account_concurrency_limit",
        limit,
        {fn.name: fn.reserved_concurrency for fn in functions},
        advice="; lower target_evaluations_per_second or expected_seconds_per_sample, raise "
        "samples_per_invocation, or request a Lambda quota increase and set account_concurrency_limit",
    )

    return EnvironmentConfig(
        name=env,
        training=training,
        reward_functions=functions,
        account=account,
        region=region,
        log_retention_days=retention,
        alarm_email=alarm_email,
        account_concurrency_limit=limit,
        headroom=headroom,
        invocation_overhead_seconds=overhead,
        tracing=tracing,
    )


def parse_environments(raw: Any) -> dict[str, EnvironmentConfig]:
    """Validate the ``environments`` context object; returns {name: EnvironmentConfig} in order."""
    if raw is None:
        raise _fail("environments", "missing from cdk.json context (an object {env name: settings})")
    raw = _object("environments", raw)
    if not raw:
        raise _fail("environments", "must define at least one environment")
    envs = {name: _parse_environment(name, value) for name, value in raw.items()}

    # Environments deployed to the same account and region draw on one concurrency pool.
    pools: dict[tuple[str, str], list[EnvironmentConfig]] = {}
    for env in envs.values():
        if env.account and env.region:
            pools.setdefault((env.account, env.region), []).append(env)
    for (account, region), members in pools.items():
        if len(members) > 1:  # a single environment was checked on its own
            _check_reservable(
                f"environments.{members[-1].name}.account_concurrency_limit",
                min(env.account_concurrency_limit for env in members),
                {env.name: env.total_reserved_concurrency for env in members},
                context=f"environments {[env.name for env in members]} share account {account} in {region}: ",
            )
    return envs


def select_environments(envs: Mapping[str, EnvironmentConfig], selected: Any) -> list[EnvironmentConfig]:
    """All environments, or only the one named by ``-c env=<name>``."""
    if selected is None or selected == "":
        return list(envs.values())
    if selected not in envs:
        raise _fail("env", f"{_show(selected)} is not one of {list(envs)} (from -c env=<name>)")
    return [envs[selected]]
