"""Lambda entry point for RLAIF reward functions: a Bedrock model judges each response.

Same runtime as ``rlvr.handler`` (``reward_kit.lambda_runtime``): REWARD_SPEC is a ``judge``
spec, or a ``multi`` spec with a ``judge`` component next to deterministic graders. The judge
needs JUDGE_MODEL_ID (set by the CDK stack, which scopes ``bedrock:InvokeModel`` to that
model) and runs up to JUDGE_MAX_CONCURRENCY (default 16) calls in parallel per invocation.
Samples the judge could not score before the Lambda's deadline get ``judge_timeout``.

The Bedrock client is built here, at import (the Lambda init phase), so the first
invocation does not pay for it (Lambda developer guide: Best practices for working with AWS
Lambda functions).
"""

from __future__ import annotations

from reward_kit.graders import judge
from reward_kit.lambda_runtime import RewardRuntime

runtime = RewardRuntime(function_kind="rlaif")
get_scorer = runtime.get_scorer
handler = runtime.handler
judge.prepare_client()

__all__ = ["get_scorer", "handler"]
