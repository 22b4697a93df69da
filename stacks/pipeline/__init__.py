"""Delivery pipeline component: CDK Pipelines from a repository connection through the environments."""

from .construct import SYNTH_COMMANDS, DeliveryPipelineStack, EnvironmentStage, cli_version

__all__ = ["SYNTH_COMMANDS", "DeliveryPipelineStack", "EnvironmentStage", "cli_version"]
