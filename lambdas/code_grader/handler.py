"""Lambda entry point for reward functions that grade generated code (the ``code`` function kind).

Same runtime as ``rlvr.handler`` (``reward_kit.lambda_runtime``): REWARD_SPEC is a ``code``
spec, or a ``multi`` spec with a ``code`` component next to deterministic graders (never a
judge). Programs run in the environment's code executor, named by CODE_EXECUTOR_FUNCTION
(``reward_kit.code_executor``); when it cannot run at all the invocation fails. Samples whose
tests cannot finish before the Lambda's deadline get ``code_deadline`` and the minimum score.
"""

from __future__ import annotations

from reward_kit.lambda_runtime import RewardRuntime

runtime = RewardRuntime(function_kind="code")
get_scorer = runtime.get_scorer
handler = runtime.handler

__all__ = ["get_scorer", "handler"]
