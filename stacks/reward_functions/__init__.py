"""Reward functions component: one Lambda per configured reward function, one asset per kind.

Runtime: ``lambdas/reward_kit`` (shared) and the kinds' entry points ``lambdas/rlvr``,
``lambdas/rlaif``, ``lambdas/code_grader``; which kind a function is comes from its spec
(``reward_kit.kinds``). The assets' options come from ``stacks.lambda_plumbing``.
"""

from .function import LIVE_ALIAS, CodeExecutorAccess, RewardFunction, judge_model_arns

__all__ = [
    "LIVE_ALIAS",
    "CodeExecutorAccess",
    "RewardFunction",
    "judge_model_arns",
]
