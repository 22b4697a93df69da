"""TrainingAccess: the roles training jobs assume to call the reward functions.

* Bedrock model-customization service role (``CreateModelCustomizationJob.roleArn``),
  trusted by bedrock.amazonaws.com only for this account's model-customization jobs.
* SageMaker AI training execution role (Training Jobs / HyperPod Nova recipes), trusted by
  sagemaker.amazonaws.com only for this account's training jobs (and, with
  ``training.hyperpod``, its HyperPod clusters): ``aws:SourceAccount`` and ``aws:SourceArn``,
  so no other SageMaker job type (processing, notebooks, endpoints) can assume it.

Both may ``lambda:InvokeFunction`` exactly the environment's reward functions and their
qualified ARNs (``<function ARN>:*``: every published version, which jobs pinned to a
version keep calling after later deploys, and the ``live`` alias), read the configured
training-data prefix and write the output prefix; with
``training.kms_key_arn``, use that key exactly as S3 SSE-KMS needs (kms:Decrypt for reads,
kms:GenerateDataKey for writes) and only through S3 in the key's region (``kms:ViaService``).
Explicit statements, no grant helpers (``grant_invoke`` adds ``<arn>:*``). The construct
owns its outputs (the two role ARNs).
"""

from __future__ import annotations

from typing import Sequence

from aws_cdk import ArnFormat, Aws, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import TrainingDataConfig
from stacks.nag import acknowledge_iam5_resource

SAGEMAKER_TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def s3_object_arn(bucket: str, prefix: str) -> str:
    return f"arn:{Aws.PARTITION}:s3:::{bucket}/{prefix}/*"


def s3_bucket_arn(bucket: str) -> str:
    return f"arn:{Aws.PARTITION}:s3:::{bucket}"


# What S3 asks KMS for on the caller's behalf with SSE-KMS: GetObject decrypts the data key,
# PutObject generates one (multipart uploads decrypt it again, covered by kms:Decrypt).
S3_KMS_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def _kms_statements(training: TrainingDataConfig) -> list[iam.PolicyStatement]:
    if training.kms_key_arn is None:
        return []
    return [
        iam.PolicyStatement(
            sid="TrainingBucketKeyThroughS3",
            actions=list(S3_KMS_ACTIONS),
            resources=[training.kms_key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{training.kms_key_region}.amazonaws.com"}},
        )
    ]


def _s3_statements(training: TrainingDataConfig) -> list[iam.PolicyStatement]:
    return _kms_statements(training) + [
        iam.PolicyStatement(
            sid="ReadTrainingData",
            actions=["s3:GetObject"],
            resources=[s3_object_arn(training.bucket, training.data_prefix)],
        ),
        iam.PolicyStatement(
            sid="ListTrainingDataPrefix",
            actions=["s3:ListBucket"],
            resources=[s3_bucket_arn(training.bucket)],
            conditions={
                "StringLike": {
                    "s3:prefix": [
                        training.data_prefix,
                        f"{training.data_prefix}/*",
                        training.output_prefix,
                        f"{training.output_prefix}/*",
                    ]
                }
            },
        ),
        iam.PolicyStatement(
            sid="WriteTrainingOutput",
            actions=["s3:PutObject"],
            resources=[s3_object_arn(training.bucket, training.output_prefix)],
        ),
    ]


def _acknowledge_s3(role: iam.Role, training: TrainingDataConfig) -> None:
    acknowledge_iam5_resource(
        role,
        s3_object_arn(training.bucket, training.data_prefix),
        f"Object ARNs under the configured training-data prefix s3://{training.bucket}/{training.data_prefix}/ "
        "(GetObject only); object names are not known at deploy time",
    )
    acknowledge_iam5_resource(
        role,
        s3_object_arn(training.bucket, training.output_prefix),
        f"Training jobs write artifacts under the configured output prefix "
        f"s3://{training.bucket}/{training.output_prefix}/ (PutObject only); names are chosen by the job",
    )


def _training_role(
    scope: Construct,
    construct_id: str,
    *,
    jobs: str,
    principal: iam.ServicePrincipal,
    invoke: iam.PolicyStatement,
    training: TrainingDataConfig,
    extra: Sequence[iam.PolicyStatement] = (),
) -> iam.Role:
    """A role ``jobs`` assume: invoke the reward functions, the S3 training-data statements
    (acknowledged here, next to the wildcards they need) and any ``extra`` statements."""
    role = iam.Role(
        scope,
        construct_id,
        description=f"{jobs}: invoke reward functions, read training data, write output",
        assumed_by=principal,
        inline_policies={
            "RewardFunctionsAndTrainingData": iam.PolicyDocument(
                statements=[invoke, *_s3_statements(training), *extra]
            )
        },
    )
    _acknowledge_s3(role, training)
    return role


def sagemaker_source_arns(stack: Stack, training: TrainingDataConfig) -> list[str]:
    """The SageMaker resources allowed to assume the training role: this account's training jobs,
    and its HyperPod clusters when ``training.hyperpod`` is set."""
    resources = ["training-job", *(["cluster"] if training.hyperpod else [])]
    return [stack.format_arn(service="sagemaker", resource=resource, resource_name="*",
                             arn_format=ArnFormat.SLASH_RESOURCE_NAME) for resource in resources]


class TrainingAccess(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        training: TrainingDataConfig,
        reward_function_arns: Sequence[str],
        qualified_function_arns: Sequence[str] = (),
    ) -> None:
        """``qualified_function_arns``: ``<function ARN>:*`` patterns among ``reward_function_arns``
        (acknowledged to cdk-nag one by one, with the reason)."""
        super().__init__(scope, construct_id)
        self.environment_name = environment_name
        self.training = training
        invoke = iam.PolicyStatement(
            sid="InvokeRewardFunctions",
            actions=["lambda:InvokeFunction"],
            resources=list(reward_function_arns),
        )
        self.bedrock_role = self._build_bedrock_role(invoke)
        self.sagemaker_role = self._build_sagemaker_role(invoke)
        for role in (self.bedrock_role, self.sagemaker_role):
            for arn in qualified_function_arns:
                acknowledge_iam5_resource(
                    role,
                    arn,
                    "Versions and the live alias of one reward function of this environment: a training job "
                    "pinned to a version-qualified ARN must keep invoking that version after later deploys publish "
                    "new ones, so version numbers cannot be listed at deploy time (InvokeFunction only)",
                )
        self._add_outputs()

    def _build_bedrock_role(self, invoke: iam.PolicyStatement) -> iam.Role:
        stack = Stack.of(self)
        return _training_role(
            self,
            "BedrockCustomizationRole",
            jobs=f"Bedrock RFT model-customization jobs ({self.environment_name})",
            principal=iam.ServicePrincipal(
                "bedrock.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="bedrock", resource="model-customization-job", resource_name="*"
                        )
                    },
                },
            ),
            invoke=invoke,
            training=self.training,
        )

    def _build_sagemaker_role(self, invoke: iam.PolicyStatement) -> iam.Role:
        stack = Stack.of(self)
        log_group_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{SAGEMAKER_TRAINING_LOG_GROUP}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        role = _training_role(
            self,
            "SageMakerTrainingRole",
            jobs=f"SageMaker AI Nova RFT training jobs ({self.environment_name})",
            principal=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": sagemaker_source_arns(stack, self.training)},
                },
            ),
            invoke=invoke,
            training=self.training,
            extra=[
                iam.PolicyStatement(
                    sid="WriteTrainingJobLogs",
                    actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                             "logs:DescribeLogStreams"],
                    resources=[log_group_arn],
                )
            ],
        )
        acknowledge_iam5_resource(
            role,
            log_group_arn,
            "SageMaker writes training-job logs to streams named per job inside the fixed "
            f"{SAGEMAKER_TRAINING_LOG_GROUP} log group; stream names are not known at deploy time",
        )
        return role

    def _add_outputs(self) -> None:
        """At the stack's top level, so their names stay what users paste from."""
        stack = Stack.of(self)
        CfnOutput(stack, "BedrockCustomizationRoleArn",
                  value=self.bedrock_role.role_arn,
                  description="CreateModelCustomizationJob roleArn (Bedrock RFT service role)")
        CfnOutput(stack, "SageMakerTrainingRoleArn",
                  value=self.sagemaker_role.role_arn,
                  description="SageMaker AI training job / HyperPod execution role for Nova RFT recipes")
