"""Cost profiles of configured reward functions (``stacks.cost_model.CostProfile``): a
function's log bytes per invocation from the runtime's own record builder and Lambda's platform
records, its judge tokens as the quota check counts them, and the article's seed handler on
the same settings for comparison.

A code function's programs run in the environment's code executor, one executor invocation
per sample: the executor is its own row (``<env>.<function> executor``), with 1M requests
per 1M evaluations and, per request, the function's ``expected_seconds_per_sample`` (the
program's run time is what a code sample's grading time is made of) at the executor's
``memory_mb``; its logs are Lambda's platform records when the system log level keeps them
(the executor writes nothing per run). The grader's own row still counts its batch's time as
if it graded the samples one after another while it waits on the executor: an upper bound,
since its samples run at once.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Mapping

from stacks.cost_model import CostProfile

# Lambda's own per-invocation records in the JSON log format, with their documented shapes
# (telemetry API schema: platform.start, platform.runtimeDone, platform.report) and typical
# values. A system log level of WARN drops all three; INFO and DEBUG keep them.
_REQUEST_ID = "3f9a2c1e-7b4d-4e8f-9a21-5c6d7e8f9a0b"
SYSTEM_LOG_RECORDS = (
    {"time": "2025-06-01T12:00:00.000Z", "type": "platform.start",
     "record": {"requestId": _REQUEST_ID, "version": "$LATEST"}},
    {"time": "2025-06-01T12:00:00.021Z", "type": "platform.runtimeDone",
     "record": {"requestId": _REQUEST_ID, "status": "success",
                "metrics": {"durationMs": 20.53, "producedBytes": 310}}},
    {"time": "2025-06-01T12:00:00.022Z", "type": "platform.report",
     "record": {"requestId": _REQUEST_ID, "metrics": {"durationMs": 20.53, "billedDurationMs": 21,
                                                       "memorySizeMB": 1024, "maxMemoryUsedMB": 81},
                "status": "success"}},
)  # fmt: skip
SYSTEM_LOG_BYTES_PER_INVOCATION = sum(len(json.dumps(r, separators=(",", ":"))) + 1 for r in SYSTEM_LOG_RECORDS)
# System log levels that keep the per-invocation platform records.
SYSTEM_LEVELS_WITH_INVOCATION_RECORDS = ("DEBUG", "INFO")


# The article's sample handler (bench/naive_handler.py) prints every sample as indented JSON:
# log bytes per sample measured by `make bench` on its chABSA batch (tests/stacks/test_cost.py
# re-measures it). It ran in Lambda's default text log format, START/END/REPORT included.
SEED_HANDLER_LOG_BYTES_PER_SAMPLE = 2178
SYSTEM_TEXT_LOG_LINES = (
    f"START RequestId: {_REQUEST_ID} Version: $LATEST",
    f"END RequestId: {_REQUEST_ID}",
    f"REPORT RequestId: {_REQUEST_ID}\tDuration: 20.53 ms\tBilled Duration: 21 ms\tMemory Size: 1024 MB\t"
    "Max Memory Used: 81 MB\t",
)
SYSTEM_TEXT_LOG_BYTES_PER_INVOCATION = sum(len(line) + 1 for line in SYSTEM_TEXT_LOG_LINES)
# Application log levels at which the runtime writes its per-invocation DEBUG line.
APPLICATION_LEVELS_WITH_DEBUG_LINE = ("TRACE", "DEBUG")


def function_profile(
    fn: object, *, system_log_level: str, application_log_level: str = "INFO", label: str | None = None
) -> CostProfile:
    """The cost profile of one configured reward function (a ``RewardFunctionConfig``): its
    log bytes per invocation come from the runtime's own record builder
    (``reward_kit.lambda_runtime.estimate_record_bytes``), plus its DEBUG line when the
    application log level keeps it and Lambda's platform records when the system log level
    keeps them."""
    from reward_kit.lambda_runtime import estimate_debug_line_bytes, estimate_record_bytes
    from reward_kit.spec import reward_dimensions

    samples = int(fn.samples_per_invocation)  # type: ignore[attr-defined]
    seconds_per_sample = float(fn.expected_seconds_per_sample)  # type: ignore[attr-defined]
    log_bytes = estimate_record_bytes(
        reward_dimensions(fn.reward_spec),  # type: ignore[attr-defined]
        samples,
        service=fn.function_name,  # type: ignore[attr-defined]
        seconds=round(samples * seconds_per_sample, 4),
    )
    if application_log_level.upper() in APPLICATION_LEVELS_WITH_DEBUG_LINE:
        log_bytes += estimate_debug_line_bytes(fn.function_name, samples)  # type: ignore[attr-defined]
    if system_log_level.upper() in SYSTEM_LEVELS_WITH_INVOCATION_RECORDS:
        log_bytes += SYSTEM_LOG_BYTES_PER_INVOCATION
    judge = getattr(fn, "judge", None)  # a JudgeConfig when the spec needs a judge
    tokens = fn.judge_tokens  # type: ignore[attr-defined]  # configured or estimated, as the quota check
    cached = 0
    if judge is not None and judge.prompt_caching:
        from stacks import judge_capacity

        cached = judge_capacity.cached_tokens_per_sample(
            fn.reward_spec, judge.model_id, judge.input_tokens_per_call,  # type: ignore[attr-defined]
            prefix_share=judge.prefix_share, min_tokens_override=judge.prompt_cache_min_tokens)
    return CostProfile(
        name=label or fn.name,  # type: ignore[attr-defined]
        evaluations_per_second=float(fn.target_evaluations_per_second),  # type: ignore[attr-defined]
        samples_per_invocation=samples,
        memory_mb=int(fn.memory_mb),  # type: ignore[attr-defined]
        seconds_per_sample=seconds_per_sample,
        log_bytes_per_invocation=log_bytes,
        judge_model_id=judge.model_id if judge else None,
        judge_input_tokens_per_evaluation=tokens.input,
        judge_output_tokens_per_evaluation=tokens.output,
        judge_cached_tokens_per_evaluation=cached,
        judge_group_size=(judge.group_size or 1) if judge is not None else 1,
    )


def executor_profile(fn: object, *, executor_memory_mb: int, system_log_level: str,
                     label: str | None = None) -> CostProfile:
    """The code executor's share of one code function's cost: one invocation per sample."""
    log_bytes = (SYSTEM_LOG_BYTES_PER_INVOCATION
                 if system_log_level.upper() in SYSTEM_LEVELS_WITH_INVOCATION_RECORDS else 0)
    return CostProfile(
        name=label or f"{fn.name} executor",  # type: ignore[attr-defined]
        evaluations_per_second=float(fn.target_evaluations_per_second),  # type: ignore[attr-defined]
        samples_per_invocation=1,
        memory_mb=executor_memory_mb,
        seconds_per_sample=float(fn.expected_seconds_per_sample),  # type: ignore[attr-defined]
        log_bytes_per_invocation=log_bytes,
    )


def seed_profile(like: CostProfile) -> CostProfile:
    """The article's handler with the same rate, batch size, memory and grading time."""
    return replace(
        like,
        name=f"seed handler, as {like.name}",
        log_bytes_per_invocation=like.samples_per_invocation * SEED_HANDLER_LOG_BYTES_PER_SAMPLE
        + SYSTEM_TEXT_LOG_BYTES_PER_INVOCATION,
        judge_model_id=None,
        judge_input_tokens_per_evaluation=0,
        judge_output_tokens_per_evaluation=0,
        judge_cached_tokens_per_evaluation=0,
    )


def environment_profiles(environments: Mapping[str, object]) -> list[CostProfile]:
    """One profile per function of every environment (``<env>.<function>``, and after a code
    function its executor's share, ``<env>.<function> executor``), then the seed handler on
    the settings of the busiest function, for comparison."""
    profiles = []
    for env_name, env in environments.items():
        system = getattr(env, "system_log_level", "INFO")
        application = getattr(env, "application_log_level", "INFO")
        for fn in env.reward_functions:  # type: ignore[attr-defined]
            profiles.append(function_profile(fn, system_log_level=system, application_log_level=application,
                                             label=f"{env_name}.{fn.name}"))
            if fn.kind == "code":
                profiles.append(executor_profile(
                    fn, executor_memory_mb=env.code_sandbox.executor.memory_mb,  # type: ignore[attr-defined]
                    system_log_level=system, label=f"{env_name}.{fn.name} executor"))
    if profiles:
        busiest = max(profiles, key=lambda p: p.evaluations_per_second)
        profiles.append(seed_profile(busiest))
    return profiles
