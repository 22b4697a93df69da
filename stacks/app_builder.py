"""Compose the CDK app from already-validated, typed environment configs.

``app.py`` (the only place that reads cdk.json context) and the infra tests call
``build_app`` the same way; tests pass an ``App`` whose context skips bundling
(``aws:cdk:bundling-stacks = []``) so they never run pip.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from .config import EnvironmentConfig
from .evaluator_registration import handler_code_options
from .reward_functions import function_kind_code_options
from .reward_stack import RewardStack

ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = ROOT / "lambdas"
STACK_PREFIX = "NovaRftRewards"


def stack_name(env: EnvironmentConfig | str) -> str:
    """``NovaRftRewards-<env>``, with the environment's optional name prefix and suffix."""
    if isinstance(env, str):
        return f"{STACK_PREFIX}-{env}"
    return env.deployment.affixed(f"{STACK_PREFIX}-{env.name}")


def build_app(app: App, environments: list[EnvironmentConfig]) -> dict[str, RewardStack]:
    """Add one RewardStack per environment (and cdk-nag) to ``app``."""
    # One bundler per function kind for the whole app: every stack's asset of a kind has the
    # same source and options, so CDK stages each kind's bundle once.
    code_options = function_kind_code_options(LAMBDAS_DIR)
    evaluator_code_options = handler_code_options(LAMBDAS_DIR)
    stacks: dict[str, RewardStack] = {}
    for env in environments:
        stacks[env.name] = RewardStack(
            app,
            stack_name(env),
            config=env,
            code_options=code_options,
            asset_path=str(LAMBDAS_DIR),
            evaluator_code_options=evaluator_code_options,
            env=Environment(account=env.account, region=env.region) if env.account else None,
            description=f"Nova RFT reward functions and training roles ({env.name})",
        )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks
