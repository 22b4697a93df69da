"""The pipeline's post-deploy check of one environment (``make post-deploy-check ENV=``).

After a stage deploys, every reward function's live version (the stack output
``<Fn>LiveVersion``: the version the deploy published, or ``live_version``) is invoked with
its example data, ``examples/<grader>/samples.jsonl`` for the spec's top-level grader. The
stage fails (exit 1) when an answer breaks the reward contract or any score differs from a
local dry run of cdk.json's spec on the same data: a function that crashes on its own
example data, or that does not run the code and spec this commit holds, is caught before
the next stage (or the approval before production). Judge functions are invoked and
contract-checked, and their scores are not compared (a model's scores may vary).

In the pipeline the check runs in the pipeline account and assumes the environment's
check role (``--role-arn``; created in the environment's account by the pipeline stage).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Any, Sequence, TextIO

from ops import ROOT
from ops.environment import CDK_JSON, OperatorError, load_environment, stack_outputs
from ops.invoke import run as invoke_run
from stacks.config import EnvironmentConfig, RewardFunctionConfig

EXAMPLES = ROOT / "examples"
SESSION_NAME = "post-deploy-check"


def example_data(fn: RewardFunctionConfig, examples: Path = EXAMPLES) -> Path:
    path = examples / str(fn.reward_spec["grader"]) / "samples.jsonl"
    if not path.is_file():
        raise OperatorError(f"{fn.name}: no example data for grader {fn.reward_spec['grader']!r} ({path})")
    return path


def assumed_clients(role_arn: str, env: EnvironmentConfig) -> tuple[Any, Any]:
    """(lambda, cloudformation) clients with the environment's check role."""
    import boto3

    credentials = boto3.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)["Credentials"]
    session = boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                            aws_secret_access_key=credentials["SecretAccessKey"],
                            aws_session_token=credentials["SessionToken"], region_name=env.deployment.region)
    return session.client("lambda"), session.client("cloudformation")


def check(env: EnvironmentConfig, out: TextIO, *, cdk_json: Path = CDK_JSON, lambda_client: Any = None,
          cloudformation: Any = None, examples: Path = EXAMPLES) -> bool:
    outputs = stack_outputs(env, cloudformation)
    ok = True
    for fn in env.reward_functions:
        version = outputs.function(fn, "LiveVersion")
        data = example_data(fn, examples)
        report_text = io.StringIO()
        report = invoke_run(env.name, fn.name, str(data), report_text, version=version,
                            diff=fn.judge is None, lambda_client=lambda_client, cdk_json=cdk_json,
                            name_suffix=env.deployment.name_suffix)
        if report.ok:
            compared = "same scores as the local dry run" if fn.judge is None else "scores not compared (judge)"
            out.write(f"ok    {fn.function_name}:{report.version} on {data.relative_to(ROOT) if data.is_relative_to(ROOT) else data}"
                      f" ({len(report.deployed.outputs)} samples): contract kept, {compared}\n")
        else:
            ok = False
            out.write(f"FAIL  {fn.function_name}:{report.version} on {data}\n")
            for line in report.violations + report.differences[:20]:
                out.write(f"      {line}\n")
    return ok


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    p = argparse.ArgumentParser(prog="make post-deploy-check", description=__doc__.split("\n\n")[0])
    p.add_argument("--env", required=True)
    p.add_argument("--role-arn", help="assume this role first (the pipeline's cross-account check role)")
    p.add_argument("--cdk-json", type=Path, default=CDK_JSON)
    args = p.parse_args(argv)
    try:
        env = load_environment(args.env, args.cdk_json)
        lambda_client, cloudformation = assumed_clients(args.role_arn, env) if args.role_arn else (None, None)
        ok = check(env, out, cdk_json=args.cdk_json, lambda_client=lambda_client, cloudformation=cloudformation)
    except OperatorError as exc:
        err.write(f"error: {exc}\n")
        return 2
    out.write("post-deploy check passed\n" if ok else "post-deploy check FAILED\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
