"""Lambda entry point for reward functions that run generated code (the ``code`` function kind).

Same runtime as ``rlvr.handler`` (``reward_kit.lambda_runtime``): REWARD_SPEC is a ``code``
spec, or a ``multi`` spec with a ``code`` component next to deterministic graders (never a
judge: this function has no network). Each test runs in a sandboxed child process
(``code.sandbox``); CODE_SANDBOX_MAX_PROCESSES (optional) caps the children running at once,
otherwise derived from the function's memory. Samples whose tests cannot finish before the
Lambda's deadline get ``code_deadline`` and the minimum score.
"""

from __future__ import annotations

from reward_kit.lambda_runtime import RewardRuntime

runtime = RewardRuntime(kind="code")
get_scorer = runtime.get_scorer
handler = runtime.handler

__all__ = ["get_scorer", "handler"]
