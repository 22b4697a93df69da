"""RewardStack: one environment's reward functions, training roles and paste-ready outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .config import EnvironmentConfig
from .reward_function import RewardFunction
from .training_access import TrainingAccess


class RewardStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        code_options: dict[str, Any],
        asset_path: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        # One asset per stack, shared by every function (same bundle, staged once per app).
        code = lambda_.Code.from_asset(asset_path, **code_options)

        self.reward_functions: dict[str, RewardFunction] = {}
        for fn in config.reward_functions:
            self.reward_functions[fn.name] = RewardFunction(
                self, f"Reward{fn.construct_name}", environment=config, function=fn, code=code
            )

        self.training_access = TrainingAccess(
            self,
            "TrainingAccess",
            environment_name=config.name,
            training=config.training,
            reward_function_arns=[arn for rf in self.reward_functions.values() for arn in rf.invoke_arns],
        )

        CfnOutput(self, "BedrockCustomizationRoleArn",
                  value=self.training_access.bedrock_role.role_arn,
                  description="CreateModelCustomizationJob roleArn (Bedrock RFT service role)")
        CfnOutput(self, "SageMakerTrainingRoleArn",
                  value=self.training_access.sagemaker_role.role_arn,
                  description="SageMaker AI training job / HyperPod execution role for Nova RFT recipes")

        for rf in self.reward_functions.values():
            p = rf.config.construct_name
            CfnOutput(self, f"{p}FunctionArn", value=rf.function.function_arn,
                      description=f"{rf.config.function_name} (unqualified function ARN)")
            CfnOutput(self, f"{p}BedrockLambdaArn", value=rf.invoke_arn,
                      description="rftConfig.graderConfig.lambdaGrader.lambdaArn")
            CfnOutput(self, f"{p}BedrockGraderConfig",
                      value=self.to_json_string({"graderConfig": {"lambdaGrader": {"lambdaArn": rf.invoke_arn}}}),
                      description="rftConfig fragment for CreateModelCustomizationJob")
            CfnOutput(self, f"{p}RecipeRewardLambdaArn", value=rf.invoke_arn,
                      description="SageMaker Nova RFT recipe: run.reward_lambda_arn")
            CfnOutput(self, f"{p}LambdaConcurrencyLimit", value=str(rf.config.reserved_concurrency),
                      description="SageMaker Nova RFT recipe: lambda_concurrency_limit (= reserved concurrency)")
            CfnOutput(
                self,
                f"{p}SageMakerRecipeFields",
                value=self.to_json_string({
                    "run.reward_lambda_arn": rf.invoke_arn,
                    "lambda_concurrency_limit": rf.config.reserved_concurrency,
                }),
                description="SageMaker Nova RFT recipe fields (paste into the recipe YAML)",
            )
