"""Compose the CDK app from already-validated, typed environment configs.

``app.py`` (the only place that reads cdk.json context) and the synth tests call
``build_app`` the same way; tests pass an ``App`` whose context skips bundling
(``aws:cdk:bundling-stacks = []``) so they never run pip.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, Environment, IStackSynthesizer, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from .config import DeploymentConfig, EnvironmentConfig, PipelineConfig, deployment
from .evaluator_registration import handler_code_options
from .guardrails import apply_permissions_boundary, apply_tags
from .lambda_assets import ASSETS
from .lambda_plumbing import asset_code_options, function_kind_code_options
from .pipeline import DeliveryPipelineStack
from .reward_stack import RewardStack

ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = ROOT / "lambdas"
STACK_PREFIX = deployment.STACK_PREFIX
PIPELINE_STACK = f"{STACK_PREFIX}-Pipeline"


def stack_name(env: EnvironmentConfig | str) -> str:
    """``NovaRftRewards-<env>``, with the environment's optional name prefix and suffix
    (``DeploymentConfig.stack_name``: the one place the name is built)."""
    if isinstance(env, str):
        return DeploymentConfig().stack_name(env)
    return env.deployment.stack_name(env.name)


def build_app(
    app: App, environments: list[EnvironmentConfig], pipeline: PipelineConfig | None = None,
    all_environments: dict[str, EnvironmentConfig] | None = None,
) -> dict[str, RewardStack]:
    """Add one RewardStack per environment (and cdk-nag) to ``app``; with ``pipeline``, also the
    delivery pipeline stack, whose stages deploy the same stacks (``all_environments``: every
    environment by name, the pipeline's stages among them; default: ``environments``)."""
    # One bundler per function kind for the whole app: every stack's asset of a kind has the
    # same source and options, so CDK stages each kind's bundle once.
    code_options = function_kind_code_options(LAMBDAS_DIR)
    evaluator_code_options = handler_code_options(LAMBDAS_DIR)
    executor_code_options = asset_code_options(LAMBDAS_DIR, ASSETS["code_sandbox"])

    def build_stack(scope: Construct, env: EnvironmentConfig,
                    synthesizer: IStackSynthesizer | None = None) -> RewardStack:
        return RewardStack(
            scope,
            stack_name(env),
            stack_name=stack_name(env),  # the same CloudFormation stack by hand or from the pipeline
            config=env,
            code_options=code_options,
            asset_path=str(LAMBDAS_DIR),
            evaluator_code_options=evaluator_code_options,
            executor_code_options=executor_code_options,
            env=Environment(account=env.account, region=env.region) if env.account else None,
            description=f"Nova RFT reward functions and training roles ({env.name})",
            synthesizer=synthesizer,
        )

    stacks = {env.name: build_stack(app, env) for env in environments}
    if pipeline is not None:
        pipeline_stack = DeliveryPipelineStack(
            app, PIPELINE_STACK, config=pipeline,
            environments=all_environments or {env.name: env for env in environments}, build_stack=build_stack)
        # The stages' stacks apply their own environment's guardrails; these are the pipeline's.
        if pipeline.permissions_boundary is not None:
            apply_permissions_boundary(pipeline_stack, pipeline.permissions_boundary)
        apply_tags(pipeline_stack, pipeline.tags)
        # CodePipeline's support stacks (a replication bucket and key per other region a stage
        # deploys to) belong to the pipeline: the same tags (they create no role).
        for support in pipeline_stack.pipeline.pipeline.cross_region_support.values():
            apply_tags(support.stack, pipeline.tags)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks
