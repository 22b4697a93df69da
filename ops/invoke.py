"""``make invoke ENV= FN= DATA=rollouts.jsonl [VERSION=]``: run the deployed function on your
rollouts, as ``sam remote invoke`` does, and compare it with a local dry run.

The rollouts go to the version (default: the ``live`` alias's) in batches; each answer is
checked against the reward contract (``ops.contract_check``); the dry run's report is
printed for the deployed scores; then the same rows are scored locally with the spec in
cdk.json (or ``--spec``) and every sample whose score differs is listed. A difference on the
same sample means the deployed code or spec is not the local one (the spec hashes are
printed to tell which). Exit code 0: contract kept and scores equal; 1: a violation or a
difference; 2: a usage or AWS error. A judge spec's scores come from a model and may differ
between two runs: ``--no-diff`` for those.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, TextIO

from ops.contract_check import violations
from ops.environment import CDK_JSON, OperatorError, client, load_environment, reward_function
from reward_kit.dryrun import INVALID_JSON_LINE, DryRunResult, UsageError, read_samples, score_rows
from reward_kit.dryrun_report import render_report
from reward_kit.names import LIVE_ALIAS, spec_hash_of_version
from reward_kit.scoring import Scorer
from reward_kit.spec import SpecError, parse_spec_json, spec_hash
from stacks.config import RewardFunctionConfig

TOLERANCE = 1e-9  # both sides round the same way; anything above is a real difference
MAX_LISTED = 20


@dataclass
class InvokeReport:
    version: str
    deployed_hash: str | None
    local_hash: str
    deployed: DryRunResult
    violations: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations and not self.differences


def _values(output: dict[str, Any]) -> dict[str, float]:
    values = {"aggregate": output["aggregate_reward_score"]}
    values.update({m["name"]: m["value"] for m in output.get("metrics_list", []) if isinstance(m, dict)})
    return values


def compare(deployed: list[dict[str, Any]], local: list[dict[str, Any]], lines: list[int]) -> list[str]:
    """Per sample (input order): every score that differs, as one line each."""
    diffs = []
    for lineno, mine, theirs in zip(lines, local, deployed):
        a, b = _values(theirs), _values(mine)
        changed = [f"{k} {a.get(k)} deployed vs {b.get(k)} local" for k in sorted(set(a) | set(b))
                   if not (isinstance(a.get(k), (int, float)) and isinstance(b.get(k), (int, float))
                           and math.isclose(a[k], b[k], abs_tol=TOLERANCE))]
        if changed:
            diffs.append(f"line {lineno} (id {theirs.get('id')!r}): " + "; ".join(changed))
    return diffs


def invoke_version(lambda_client: Any, function_name: str, qualifier: str, samples: list[Any],
                   batch_size: int) -> tuple[list[dict[str, Any]], list[str], str]:
    """Send ``samples`` in batches; (outputs in input order, contract violations, executed version)."""
    outputs: list[dict[str, Any]] = []
    problems: list[str] = []
    executed = qualifier
    for start in range(0, len(samples), batch_size):
        batch = samples[start:start + batch_size]
        answer = lambda_client.invoke(FunctionName=function_name, Qualifier=qualifier,
                                      Payload=json.dumps(batch).encode())
        executed = answer.get("ExecutedVersion", executed)
        raw = answer["Payload"].read()
        try:
            response = json.loads(raw)
        except ValueError:
            response = raw.decode("utf-8", "replace")[:200]
        found = violations(batch, response, answer.get("FunctionError"))
        problems += [f"batch {start // batch_size + 1} (samples {start + 1}-{start + len(batch)}): {p}" for p in found]
        if found:
            return outputs, problems, executed  # later batches would only repeat it
        by_id = {o.get("id"): o for o in response}
        ids = [s.get("id", s.get("task_id")) if isinstance(s, dict) else None for s in batch]
        if len(by_id) == len(batch) and all(i in by_id for i in ids):
            outputs += [by_id[i] for i in ids]  # outputs may come in any order; match them by id
        else:
            outputs += response  # ids missing or repeated in the input: the handler keeps input order
    return outputs, problems, executed


def _local_spec(fn: RewardFunctionConfig, spec_path: str | None) -> Any:
    """The spec to compare with: ``spec_path``'s, else the function's in cdk.json."""
    if not spec_path:
        return fn.reward_spec
    try:
        with open(spec_path, encoding="utf-8") as fh:
            return parse_spec_json(fh.read())
    except (OSError, SpecError) as exc:
        raise OperatorError(f"{spec_path}: {exc}") from None


def _invoke_deployed(api: Any, function_name: str, qualifier: str, samples: list[Any],
                     batch_size: int) -> tuple[dict[str, Any], list[dict[str, Any]], list[str], str]:
    """The version ``qualifier`` names (its configuration), then ``invoke_version`` on it."""
    from botocore.exceptions import ClientError

    try:
        config = api.get_function_configuration(FunctionName=function_name, Qualifier=qualifier)
        outputs, problems, executed = invoke_version(api, function_name, config["Version"], samples, batch_size)
    except ClientError as exc:
        raise OperatorError(f"{function_name}:{qualifier}: {exc.response['Error'].get('Message', exc)}") from None
    return config, outputs, problems, executed


def _write_hashes(out: TextIO, deployed: str, deployed_hash: str | None, local: str, local_hash: str) -> None:
    different = "" if deployed_hash == local_hash else "  <- different specs"
    out.write(f"{deployed}: spec hash {deployed_hash}; {local}: {local_hash}{different}\n")


def _add_outputs(result: DryRunResult, scorer: Scorer, rows: list[Any], by_line: dict[int, Any]) -> None:
    """The deployed outputs by input line; lines that are not JSON fail here as the dry run fails them."""
    for lineno, _sample, error in rows:
        result.add(lineno, by_line[lineno] if error is None else scorer.builder.failed(f"line-{lineno}", INVALID_JSON_LINE))


def _write_differences(differences: list[str], total: int, out: TextIO) -> None:
    if not differences:
        out.write(f"\nsame scores as the local dry run on all {total} samples\n")
        return
    out.write(f"\nDIFFERENT from the local dry run on {len(differences)} of {total} samples "
              "(the deployed code or spec is not the local one):\n")
    out.write("".join(f"  {d}\n" for d in differences[:MAX_LISTED]))
    if len(differences) > MAX_LISTED:
        out.write(f"  ... and {len(differences) - MAX_LISTED} more\n")


def run(env_name: str, fn_name: str, data: str, out: TextIO, *, version: str | None = None,
        spec_path: str | None = None, batch_size: int = 64, diff: bool = True, bins: int = 10,
        lambda_client: Any = None, name_suffix: str | None = None, cdk_json: Path = CDK_JSON) -> InvokeReport:
    env = load_environment(env_name, cdk_json, name_suffix=name_suffix)
    fn = reward_function(env, fn_name)
    local_spec = _local_spec(fn, spec_path)
    try:
        rows = read_samples(data)
    except UsageError as exc:
        raise OperatorError(str(exc)) from None
    qualifier = version or LIVE_ALIAS
    valid = [(lineno, sample) for lineno, sample, error in rows if error is None]
    config, outputs, problems, executed = _invoke_deployed(
        lambda_client or client("lambda", env), fn.function_name, qualifier, [s for _, s in valid], batch_size)
    deployed_hash = spec_hash_of_version(config.get("Description", ""))
    local_hash = spec_hash(local_spec)
    via = "" if qualifier == str(executed) else f" ({qualifier})"
    _write_hashes(out, f"{fn.function_name} version {executed}{via}", deployed_hash,
                  f"local spec ({spec_path or 'cdk.json'})", local_hash)
    scorer = Scorer(local_spec)
    result = DryRunResult(scorer.dimensions, *scorer.range)
    report = InvokeReport(executed, deployed_hash, local_hash, result, problems)
    if problems:
        out.write("CONTRACT VIOLATION:\n" + "".join(f"  {p}\n" for p in problems))
        return report
    _add_outputs(result, scorer, rows, dict(zip((lineno for lineno, _ in valid), outputs)))
    out.write(f"\n== deployed version {executed}: {len(valid)} samples in "
              f"{math.ceil(len(valid) / batch_size) if valid else 0} invocation(s) of up to {batch_size}\n")
    render_report(result, data_path=data, spec=scorer.spec, bins=bins, out=out)
    if diff:
        local = score_rows(rows, local_spec)
        report.differences = compare(result.outputs, local.outputs, [lineno for lineno, _, _ in rows])
        _write_differences(report.differences, len(rows), out)
    return report


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    p = argparse.ArgumentParser(prog="make invoke", description=__doc__.split("\n\n")[0])
    p.add_argument("--env", required=True)
    p.add_argument("--function", required=True)
    p.add_argument("--data", required=True, help="JSONL rollouts, one sample per line")
    p.add_argument("--version", help=f"version number or alias (default: {LIVE_ALIAS})")
    p.add_argument("--spec", help="local spec to compare with (default: the function's reward_spec in cdk.json)")
    p.add_argument("--batch-size", type=int, default=64, help="samples per invocation (default 64)")
    p.add_argument("--bins", type=int, default=10)
    p.add_argument("--no-diff", action="store_true", help="skip the local dry run (judge specs)")
    p.add_argument("--name-suffix", help="the environment copy's name_suffix (as deployed with -c name_suffix=)")
    p.add_argument("--cdk-json", type=Path, default=CDK_JSON, help="the CDK config (default: the repository's cdk.json)")
    args = p.parse_args(argv)
    if args.batch_size < 1:
        err.write(f"error: --batch-size must be >= 1, got {args.batch_size}\n")
        return 2
    try:
        report = run(args.env, args.function, args.data, out, version=args.version, spec_path=args.spec,
                     batch_size=args.batch_size, diff=not args.no_diff, bins=args.bins, name_suffix=args.name_suffix,
                     cdk_json=args.cdk_json)
    except OperatorError as exc:
        err.write(f"error: {exc}\n")
        return 2
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
