"""Lambda entry point for deterministic (RLVR) reward functions.

A thin wrapper: everything (spec loading, scoring, logs, EMF metrics, the deadline) lives in
``reward_kit.lambda_runtime``, shared with ``rlaif.handler``. Configuration (environment):
REWARD_SPEC (required), REWARD_MAX_RESPONSE_CHARS, REWARD_LOG_SAMPLE_TEXT,
POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE; see that module.
"""

from __future__ import annotations

from reward_kit.lambda_runtime import RewardRuntime

runtime = RewardRuntime(function_kind="rlvr")
get_scorer = runtime.get_scorer
handler = runtime.handler

__all__ = ["get_scorer", "handler"]
