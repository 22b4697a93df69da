"""Registers reward functions as SageMaker AI Evaluator assets (a CloudFormation custom resource)."""
