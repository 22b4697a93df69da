"""Reward functions component: one Lambda per configured reward function, one asset per kind.

Runtime: ``lambdas/reward_kit`` (shared) and the kinds' entry points ``lambdas/rlvr``,
``lambdas/rlaif``; which kind a function is comes from its spec (``reward_kit.kinds``).
"""

from .bundling import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, function_kind_code_options
from .function import LIVE_ALIAS, RewardFunction, judge_model_arns

__all__ = [
    "LAMBDA_ARCHITECTURE",
    "LAMBDA_RUNTIME",
    "LIVE_ALIAS",
    "RewardFunction",
    "function_kind_code_options",
    "judge_model_arns",
]
