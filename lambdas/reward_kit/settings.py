"""The reward Lambda's runtime settings: each one's environment variable, default and limits, once.

The Lambda reads them with ``RuntimeSettings.from_env()`` (once per cold start, and again
only when the environment changes); the CDK app builds a ``RuntimeSettings`` from cdk.json
and writes it with ``to_env()``. Renaming a variable or moving a limit here changes both
sides. Standard library only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from reward_kit import names

__all__ = [
    "JUDGE_CACHE_ENTRIES",
    "JUDGE_MAX_CONCURRENCY",
    "JUDGE_PROMPT_CACHE_MIN_TOKENS",
    "JUDGE_PROMPT_CACHING",
    "LOG_SAMPLE_TEXT",
    "MAX_RESPONSE_CHARS",
    "JUDGE_MODEL_ID",
    "CODE_SANDBOX_MAX_PROCESSES",
    "CODE_SANDBOX_PYTHON",
    "CODE_EXECUTOR_FUNCTION",
    "BoolSetting",
    "IntSetting",
    "TextSetting",
    "RuntimeSettings",
]


@dataclass(frozen=True)
class IntSetting:
    """A whole-number setting in 1..maximum; unset or blank means ``default``."""

    env: str
    default: int
    maximum: int | None = None

    def read(self, environ: Mapping[str, str] | None = None, *, error: type[ValueError] = ValueError) -> int:
        """Anything but a whole number in range is a configuration error, raised rather than
        silently grading with a setting nobody asked for."""
        text = (os.environ if environ is None else environ).get(self.env, "").strip()
        if not text:
            return self.default
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1 or (self.maximum is not None and value > self.maximum):
            rule = "a positive integer" if self.maximum is None else f"an integer in 1..{self.maximum}"
            raise error(f"{self.env}: {text!r} is not {rule}")
        return value

    def read_if_valid(self, environ: Mapping[str, str] | None = None) -> int | None:
        """The value when it is set and valid, else None (whoever uses it reports the error)."""
        text = (os.environ if environ is None else environ).get(self.env, "").strip()
        try:
            return self.read(environ) if text else None
        except ValueError:
            return None


@dataclass(frozen=True)
class BoolSetting:
    """An on/off setting: "true" or "false" (any case); unset or blank means ``default``."""

    env: str
    default: bool

    def read(self, environ: Mapping[str, str] | None = None, *, error: type[ValueError] = ValueError) -> bool:
        text = (os.environ if environ is None else environ).get(self.env, "").strip()
        if not text:
            return self.default
        if text.lower() not in ("true", "false"):
            raise error(f"{self.env}: {text!r} is not 'true' or 'false'")
        return text.lower() == "true"


@dataclass(frozen=True)
class TextSetting:
    """A text setting; unset or blank means None."""

    env: str

    def read(self, environ: Mapping[str, str] | None = None) -> str | None:
        return (os.environ if environ is None else environ).get(self.env, "").strip() or None


# Bedrock model or inference profile id of the judge (set only for functions whose spec has one).
JUDGE_MODEL_ID = TextSetting(names.ENV_JUDGE_MODEL_ID)
# Responses longer than this score the minimum (response_too_long) without being graded.
MAX_RESPONSE_CHARS = IntSetting(names.ENV_MAX_RESPONSE_CHARS, 100_000)
# Parallel judge calls per invocation (threads and pooled connections); more throughput
# belongs in more invocations, so the cap is modest.
JUDGE_MAX_CONCURRENCY = IntSetting(names.ENV_JUDGE_MAX_CONCURRENCY, 16, maximum=64)
# Per-container judge result cache, in entries (~1 KB each); unset: off (the default).
JUDGE_CACHE_ENTRIES = IntSetting(names.ENV_JUDGE_CACHE_ENTRIES, 0, maximum=100_000)
# Bedrock prompt caching of the judge's request prefixes (reward_kit.judge_prompt_cache): on
# unless "false"; checkpoints go only where the model supports them and the prefix is long enough.
JUDGE_PROMPT_CACHING = BoolSetting(names.ENV_JUDGE_PROMPT_CACHING, True)
# The minimum prefix per checkpoint, in tokens, for a model the table does not know (or to
# correct it); unset: the table's value, and no checkpoints for a model it does not list.
JUDGE_PROMPT_CACHE_MIN_TOKENS = IntSetting(names.ENV_JUDGE_PROMPT_CACHE_MIN_TOKENS, 0, maximum=1_000_000)
# code executor: sandboxed children running at once per request; unset: derived from the
# executor's memory and CPUs (code_sandbox.handler.parallelism).
CODE_SANDBOX_MAX_PROCESSES = IntSetting(names.ENV_CODE_SANDBOX_MAX_PROCESSES, 4, maximum=64)
# code, local mode only (tests, dry runs): the interpreter of the local executor (unset: the
# grader's own; as root, /usr/bin/python3 when uid 65534 cannot run that one).
CODE_SANDBOX_PYTHON = TextSetting(names.ENV_CODE_SANDBOX_PYTHON)
# code: the environment's executor function (ARN or name for lambda:InvokeFunction). Required
# in Lambda (unset: every invocation fails); unset elsewhere: the local executor.
CODE_EXECUTOR_FUNCTION = TextSetting(names.CODE_EXECUTOR_FUNCTION_ENV)
LOG_SAMPLE_TEXT = names.ENV_LOG_SAMPLE_TEXT  # "true" only: opt-in, responses are confidential
DEFAULT_SERVICE_NAME = "reward"
# Lambda's application log levels (JSON log format; Lambda sets AWS_LAMBDA_LOG_LEVEL, which
# Powertools' Logger follows). The invocation record is a line without a "level" key, which
# Lambda files as INFO: a level above INFO would drop it, and every reward metric with it.
APPLICATION_LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
APPLICATION_LOG_LEVELS_KEEPING_THE_RECORD = ("TRACE", "DEBUG", "INFO")
# Python's logging has no TRACE: Powertools' own level for each Lambda level.
POWERTOOLS_LEVEL_FOR = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}
DEFAULT_LOG_LEVEL = "INFO"


@dataclass(frozen=True)
class RuntimeSettings:
    """Everything a reward Lambda reads from its environment."""

    reward_spec: str | None = None  # JSON text; validated by reward_kit.spec
    function_name: str | None = None  # logical name from cdk.json (REWARD_FUNCTION_NAME)
    service_name: str = DEFAULT_SERVICE_NAME  # Powertools service: logs and the metric dimension
    metrics_namespace: str = names.METRIC_NAMESPACE
    log_level: str = DEFAULT_LOG_LEVEL
    log_sample_text: bool = False
    max_response_chars: int = MAX_RESPONSE_CHARS.default
    judge_model_id: str | None = None  # set only for functions whose spec calls a judge
    judge_max_concurrency: int | None = None  # None: the default, when a judge runs
    judge_cache_entries: int | None = None  # None: no per-container judge cache
    judge_prompt_caching: bool = True  # False: the judge sends no Bedrock cachePoint
    judge_prompt_cache_min_tokens: int | None = None  # None: the model table's minimum

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RuntimeSettings:
        env = os.environ if environ is None else environ
        cache_entries = env.get(JUDGE_CACHE_ENTRIES.env, "").strip()
        min_tokens = env.get(JUDGE_PROMPT_CACHE_MIN_TOKENS.env, "").strip()
        return cls(
            reward_spec=env.get(names.ENV_REWARD_SPEC),
            function_name=env.get(names.ENV_REWARD_FUNCTION_NAME) or None,
            service_name=env.get(names.ENV_POWERTOOLS_SERVICE_NAME) or DEFAULT_SERVICE_NAME,
            metrics_namespace=env.get(names.ENV_POWERTOOLS_METRICS_NAMESPACE) or names.METRIC_NAMESPACE,
            log_level=env.get(names.ENV_POWERTOOLS_LOG_LEVEL) or DEFAULT_LOG_LEVEL,
            log_sample_text=env.get(LOG_SAMPLE_TEXT, "").strip().lower() == "true",
            max_response_chars=MAX_RESPONSE_CHARS.read(env),
            judge_model_id=JUDGE_MODEL_ID.read(env),
            # Range-checked by the judge when it is built (its error type): one parser, IntSetting.read.
            judge_max_concurrency=JUDGE_MAX_CONCURRENCY.read_if_valid(env),
            judge_cache_entries=int(cache_entries) if cache_entries.isdigit() else None,
            # Read (and checked) by the judge when it is built, like the two above.
            judge_prompt_caching=env.get(JUDGE_PROMPT_CACHING.env, "").strip().lower() != "false",
            judge_prompt_cache_min_tokens=int(min_tokens) if min_tokens.isdigit() else None,
        )

    def to_env(self) -> dict[str, str]:
        """The Lambda environment for these settings (defaults left out where the runtime has them)."""
        variables: dict[str, str] = {}
        if self.reward_spec is not None:
            variables[names.ENV_REWARD_SPEC] = self.reward_spec
        if self.function_name is not None:
            variables[names.ENV_REWARD_FUNCTION_NAME] = self.function_name
        variables[names.ENV_POWERTOOLS_SERVICE_NAME] = self.service_name
        variables[names.ENV_POWERTOOLS_METRICS_NAMESPACE] = self.metrics_namespace
        variables[names.ENV_POWERTOOLS_LOG_LEVEL] = self.log_level
        if self.log_sample_text:
            variables[LOG_SAMPLE_TEXT] = "true"
        if self.max_response_chars != MAX_RESPONSE_CHARS.default:
            variables[MAX_RESPONSE_CHARS.env] = str(self.max_response_chars)
        if self.judge_model_id is not None:
            variables[JUDGE_MODEL_ID.env] = self.judge_model_id
        if self.judge_max_concurrency is not None:
            variables[JUDGE_MAX_CONCURRENCY.env] = str(self.judge_max_concurrency)
        if self.judge_cache_entries is not None:
            variables[JUDGE_CACHE_ENTRIES.env] = str(self.judge_cache_entries)
        if not self.judge_prompt_caching:
            variables[JUDGE_PROMPT_CACHING.env] = "false"
        if self.judge_prompt_cache_min_tokens is not None:
            variables[JUDGE_PROMPT_CACHE_MIN_TOKENS.env] = str(self.judge_prompt_cache_min_tokens)
        return variables
