"""``make job``: start a reinforcement fine-tuning job on a deployed reward function.

Everything version-specific comes from the stack's outputs (the live version: after a
rollback, the version ``live_version`` names), the S3 prefixes from the environment's
``training`` config (what the stack's training roles may read and write). The request is
validated against botocore's service model before anything is sent; ``--dry-run`` prints
it and sends nothing.

Bedrock (default): ``CreateModelCustomizationJob`` with ``customizationType
REINFORCEMENT_FINE_TUNING``, ``rftConfig.graderConfig.lambdaGrader.lambdaArn`` = the live
version's ARN and ``rftConfig.hyperParameters`` from the flags.

SageMaker (``--sagemaker``): writes a recipe override file (the reward Lambda fields with the
recipe's nesting, the concurrency limit and, with ``--samples-per-prompt``, the rollout's
``number_generation``) and builds the serverless ``CreateTrainingJob`` call that uses the
function's SageMaker AI Evaluator (``ServerlessJobConfig.EvaluatorArn``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Sequence, TextIO

from ops.environment import (
    CDK_JSON,
    OperatorError,
    StackOutputs,
    client,
    load_environment,
    reward_function,
    stack_outputs,
)
from ops.service_model import validate
from stacks.config import EnvironmentConfig, RewardFunctionConfig

BEDROCK_OPERATION = ("bedrock", "CreateModelCustomizationJob")
SAGEMAKER_OPERATION = ("sagemaker", "CreateTrainingJob")
RFT = "REINFORCEMENT_FINE_TUNING"
# Flag -> rftConfig.hyperParameters key (ranges: botocore's model, checked by validate()).
HYPERPARAMETERS = {
    "epochs": "epochCount",
    "batch_size": "batchSize",
    "learning_rate": "learningRate",
    "samples_per_prompt": "trainingSamplePerPrompt",
    "eval_interval": "evalInterval",
    "max_prompt_length": "maxPromptLength",
    "inference_max_tokens": "inferenceMaxTokens",
    "reasoning_effort": "reasoningEffort",
}


@dataclass(frozen=True)
class Prefixes:
    """Where the stack's training roles may read (data) and write (output)."""

    data: str  # s3://bucket/prefix/
    output: str

    @classmethod
    def of(cls, env: EnvironmentConfig) -> Prefixes:
        t = env.training
        return cls(f"s3://{t.bucket}/{t.data_prefix}/", f"s3://{t.bucket}/{t.output_prefix}/")

    def describe(self) -> str:
        return f"may read {self.data} and write {self.output}"

    def check(self, flag: str, uri: str, writes: bool = False) -> None:
        allowed = self.output if writes else self.data
        if not uri.startswith(allowed) or uri == allowed and not writes:
            verb = "write" if writes else "read"
            raise OperatorError(f"{flag}: the stack's training roles may only {verb} under {allowed} "
                                f"(training.{'output' if writes else 'data'}_prefix in cdk.json), got {uri}")


@dataclass(frozen=True)
class JobPlan:
    """What the job is built from (printed before the request)."""

    stack: str
    function: RewardFunctionConfig
    lambda_arn: str  # the live version's qualified ARN
    live_version: str
    spec_hash: str
    prefixes: Prefixes

    @classmethod
    def of(cls, env: EnvironmentConfig, fn: RewardFunctionConfig, outputs: StackOutputs) -> JobPlan:
        return cls(outputs.stack, fn, outputs.function(fn, "VersionArn"),
                   outputs.function(fn, "LiveVersion"), outputs.function(fn, "SpecHash"), Prefixes.of(env))

    def header(self) -> str:
        return (f"stack {self.stack}: {self.function.function_name} live version {self.live_version} "
                f"(spec hash {self.spec_hash}), reserved concurrency {self.function.reserved_concurrency}\n"
                f"training roles {self.prefixes.describe()}\n")


def default_job_name(fn: RewardFunctionConfig, env: EnvironmentConfig, now: datetime) -> str:
    return f"{fn.name}-{env.name}-{now:%Y%m%d-%H%M%S}"


def hyperparameters(args: argparse.Namespace) -> dict[str, Any]:
    return {key: getattr(args, flag) for flag, key in HYPERPARAMETERS.items() if getattr(args, flag) is not None}


def bedrock_request(plan: JobPlan, outputs: StackOutputs, args: argparse.Namespace, job_name: str) -> dict[str, Any]:
    plan.prefixes.check("--train", args.train)
    if args.validation:
        plan.prefixes.check("--validation", args.validation)
    output = args.output or f"{plan.prefixes.output}{job_name}/"
    plan.prefixes.check("--output", output, writes=True)
    rft: dict[str, Any] = {"graderConfig": {"lambdaGrader": {"lambdaArn": plan.lambda_arn}}}
    if hyperparameters(args):
        rft["hyperParameters"] = hyperparameters(args)
    request: dict[str, Any] = {
        "jobName": job_name,
        "customModelName": args.model_name or job_name,
        "roleArn": outputs.get("BedrockCustomizationRoleArn"),
        "baseModelIdentifier": args.base_model,
        "customizationType": RFT,
        "trainingDataConfig": {"s3Uri": args.train},
        "outputDataConfig": {"s3Uri": output},
        "customizationConfig": {"rftConfig": rft},
    }
    if args.validation:
        request["validationDataConfig"] = {"validators": [{"s3Uri": args.validation}]}
    return request


def recipe_override(plan: JobPlan, samples_per_prompt: int | None) -> dict[str, Any]:
    """The recipe fields this function fixes, with the Nova RFT recipe's nesting."""
    rollout: dict[str, Any] = {"rewards": {"api_endpoint": {
        "lambda_arn": plan.lambda_arn,
        "lambda_concurrency_limit": plan.function.reserved_concurrency,
    }}}
    if samples_per_prompt is not None:
        rollout["advantage_strategy"] = {"number_generation": samples_per_prompt}
    return {"run": {"reward_lambda_arn": plan.lambda_arn}, "training_config": {"rollout": rollout}}


def sagemaker_request(plan: JobPlan, outputs: StackOutputs, args: argparse.Namespace, job_name: str) -> dict[str, Any]:
    plan.prefixes.check("--train", args.train)
    output = args.output or f"{plan.prefixes.output}{job_name}/"
    plan.prefixes.check("--output", output, writes=True)
    channels = [("train", args.train)] + ([("validation", args.validation)] if args.validation else [])
    if args.validation:
        plan.prefixes.check("--validation", args.validation)
    return {
        "TrainingJobName": job_name,
        "RoleArn": outputs.get("SageMakerTrainingRoleArn"),
        "ServerlessJobConfig": {
            "BaseModelArn": args.base_model,
            "JobType": "FineTuning",
            "CustomizationTechnique": "RLVR",
            "EvaluatorArn": outputs.function(plan.function, "EvaluatorArn"),
        },
        "InputDataConfig": [{"ChannelName": name, "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": uri}}} for name, uri in channels],
        "OutputDataConfig": {"S3OutputPath": output},
    }


def checked(service_operation: tuple[str, str], request: dict[str, Any]) -> dict[str, Any]:
    problems = validate(*service_operation, request)
    if problems:
        raise OperatorError(f"{service_operation[0]} {service_operation[1]} request is invalid: " + "; ".join(problems))
    return request


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="make job", description=__doc__.split("\n\n")[0])
    p.add_argument("--env", required=True, help="environment in cdk.json (ENV=)")
    p.add_argument("--function", required=True, help="reward function name (FN=)")
    p.add_argument("--base-model", required=True,
                   help="Bedrock: base model id or ARN (baseModelIdentifier); SageMaker: the base model's "
                   "hub-content ARN (ServerlessJobConfig.BaseModelArn)")
    p.add_argument("--train", required=True, help="training data, s3://<bucket>/<data_prefix>/...")
    p.add_argument("--validation", help="validation data, under the same prefix")
    p.add_argument("--output", help="output URI (default s3://<bucket>/<output_prefix>/<job name>/)")
    p.add_argument("--job-name", help="default <function>-<env>-<UTC time>")
    p.add_argument("--model-name", help="Bedrock customModelName (default: the job name)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, help="prompts per step")
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--samples-per-prompt", type=int, help="responses per prompt, each one reward call sample")
    p.add_argument("--eval-interval", type=int)
    p.add_argument("--max-prompt-length", type=int)
    p.add_argument("--inference-max-tokens", type=int)
    p.add_argument("--reasoning-effort")
    p.add_argument("--sagemaker", action="store_true",
                   help="SageMaker AI instead of Bedrock: recipe override file + serverless CreateTrainingJob")
    p.add_argument("--recipe-out", help="SageMaker: where to write the recipe override (default <job name>.recipe.yaml)")
    p.add_argument("--name-suffix", help="the environment copy's name_suffix (as deployed with -c name_suffix=)")
    p.add_argument("--cdk-json", type=Path, default=CDK_JSON, help="the CDK config (default: the repository's cdk.json)")
    p.add_argument("--dry-run", action="store_true", help="print the validated request; send nothing")
    return p


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None, *,
         now: datetime | None = None, cloudformation: Any = None, service_client: Any = None) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = _parser().parse_args(argv)
    try:
        env = load_environment(args.env, args.cdk_json, name_suffix=args.name_suffix)
        fn = reward_function(env, args.function)
        outputs = stack_outputs(env, cloudformation)
        plan = JobPlan.of(env, fn, outputs)
        job_name = args.job_name or default_job_name(fn, env, now or datetime.now(UTC))
        out.write(plan.header())
        if args.batch_size and args.samples_per_prompt:  # what one step asks of the function
            per_step = args.batch_size * args.samples_per_prompt
            rate = fn.target_evaluations_per_second
            out.write(f"one step sends {args.batch_size} x {args.samples_per_prompt} = {per_step} samples; the function "
                      f"is sized for {rate:g}/s, so about {per_step / rate:.0f} s of grading per step (size it from "
                      f"these terms with training_shape: python -m stacks.capacity -c env={env.name})\n")
        if args.sagemaker:
            import yaml  # type: ignore[import-untyped]

            recipe_path = Path(args.recipe_out or f"{job_name}.recipe.yaml")
            recipe_text = (f"# make job: {fn.function_name} live version {plan.live_version} "
                           f"(spec hash {plan.spec_hash}), stack {plan.stack}\n"
                           + yaml.safe_dump(recipe_override(plan, args.samples_per_prompt), sort_keys=False))
            request = checked(SAGEMAKER_OPERATION, sagemaker_request(plan, outputs, args, job_name))
            recipe_path.write_text(recipe_text, encoding="utf-8")
            out.write(f"wrote recipe override {recipe_path} (merge into a Nova RFT recipe):\n{recipe_text}")
            operation, method, result_key = SAGEMAKER_OPERATION, "create_training_job", "TrainingJobArn"
        else:
            request = checked(BEDROCK_OPERATION, bedrock_request(plan, outputs, args, job_name))
            operation, method, result_key = BEDROCK_OPERATION, "create_model_customization_job", "jobArn"
        import botocore

        out.write(f"{operation[0]}.{method} request (valid for botocore {botocore.__version__}'s "
                  f"{operation[0]} model):\n{json.dumps(request, indent=2)}\n")
        if args.dry_run:
            out.write("dry run: nothing sent\n")
            return 0
        api = service_client or client(operation[0], env)
        response = getattr(api, method)(**request)
        out.write(f"started: {response[result_key]}\n")
        return 0
    except OperatorError as exc:
        err.write(f"error: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
