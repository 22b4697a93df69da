"""Evaluator registration: each reward function registered as a SageMaker AI Evaluator asset.

Runtime: ``lambdas/evaluator_registration/`` (its own asset, with a pinned boto3).
"""

from .construct import HANDLER, EvaluatorRegistration, handler_code_options

__all__ = ["HANDLER", "EvaluatorRegistration", "handler_code_options"]
