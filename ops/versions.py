"""``make versions ENV= [FN=]``: each reward function's published versions, their spec
hashes and creation dates, and which one is live, from the Lambda and CloudFormation APIs.

The spec hash is read from each version's description (``reward spec <hash> (...)``), the
live version from the ``live`` alias; the stack outputs' ``<Fn>LiveVersion`` (what jobs
started from the outputs use) is shown beside it, and a version whose hash is the spec in
your cdk.json is marked, so "is what I have locally deployed, and is it live?" is one look.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, TextIO

from ops.environment import CDK_JSON, OperatorError, client, load_environment, reward_function, stack_outputs
from reward_kit.names import LIVE_ALIAS, spec_hash_of_version
from stacks.config import EnvironmentConfig, RewardFunctionConfig


@dataclass(frozen=True)
class VersionRow:
    version: str
    spec_hash: str | None
    created: str
    description: str


def list_versions(lambda_client: Any, function_name: str) -> list[VersionRow]:
    rows = []
    for page in lambda_client.get_paginator("list_versions_by_function").paginate(FunctionName=function_name):
        for v in page["Versions"]:
            if v["Version"] == "$LATEST":
                continue
            description = v.get("Description", "")
            rows.append(VersionRow(v["Version"], spec_hash_of_version(description), v.get("LastModified", ""),
                                   description))
    return sorted(rows, key=lambda row: int(row.version))


def live_version(lambda_client: Any, function_name: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        return str(lambda_client.get_alias(FunctionName=function_name, Name=LIVE_ALIAS)["FunctionVersion"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def render(fn: RewardFunctionConfig, rows: list[VersionRow], live: str | None, outputs_live: str | None,
           out: TextIO) -> None:
    out.write(f"{fn.function_name}  (cdk.json spec hash {fn.spec_hash})\n")
    if not rows:
        out.write("  no published versions\n")
        return
    out.write(f"  {'version':>7}  {'spec hash':<16}  created\n")
    for row in rows:
        marks = []
        if row.version == live:
            marks.append(f"<- {LIVE_ALIAS}")
        if row.version == outputs_live:
            marks.append("stack outputs")
        if row.spec_hash == fn.spec_hash:
            marks.append("= cdk.json spec")
        out.write(f"  {row.version:>7}  {row.spec_hash or '(none)':<16}  {row.created:<28}  {', '.join(marks)}\n"
                  .rstrip() + "\n")
    if live is not None and outputs_live is not None and live != outputs_live:
        out.write(f"  warning: the {LIVE_ALIAS} alias is on version {live} but the stack outputs name "
                  f"{outputs_live}\n")


def run(env: EnvironmentConfig, functions: list[RewardFunctionConfig], out: TextIO, *,
        lambda_client: Any = None, cloudformation: Any = None) -> None:
    from botocore.exceptions import ClientError

    outputs = stack_outputs(env, cloudformation)
    api = lambda_client or client("lambda", env)
    out.write(f"stack {outputs.stack}\n")
    for fn in functions:
        try:
            rows = list_versions(api, fn.function_name)
            live = live_version(api, fn.function_name)
        except ClientError as exc:
            raise OperatorError(f"{fn.function_name}: {exc.response['Error'].get('Message', exc)}") from None
        render(fn, rows, live, outputs.values.get(f"{fn.construct_name}LiveVersion"), out)


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    p = argparse.ArgumentParser(prog="make versions", description=__doc__.split("\n\n")[0])
    p.add_argument("--env", required=True)
    p.add_argument("--function", help="one reward function (default: all of the environment)")
    p.add_argument("--name-suffix", help="the environment copy's name_suffix (as deployed with -c name_suffix=)")
    p.add_argument("--cdk-json", type=Path, default=CDK_JSON, help="the CDK config (default: the repository's cdk.json)")
    args = p.parse_args(argv)
    try:
        env = load_environment(args.env, args.cdk_json, name_suffix=args.name_suffix)
        functions = [reward_function(env, args.function)] if args.function else list(env.reward_functions)
        run(env, functions, out)
    except OperatorError as exc:
        err.write(f"error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
