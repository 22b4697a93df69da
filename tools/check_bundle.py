"""Smoke-test every synthesized Lambda bundle in cdk.out/ (run by `make synth`).

Finds the assets from the templates: every ``AWS::Lambda::Function`` names its asset
(``aws:asset:path`` metadata) and its handler, so each asset is checked with the handlers
of the functions that use it, whatever it contains. Checks that an asset holds only what
its function kind ships (no other kind's entry point: the rlvr asset has no ``rlaif/``).
Imports each handler from the bundle alone (``python -S``: no site-packages, so
nothing from the development virtualenv can hide a missing file) and scores a tiny event
with a label and a math spec: this proves the asset holds the runtime and the pure-Python
dependencies the graders load lazily (math-verify, sympy, antlr4, Powertools).

The code executor's asset (``code_sandbox.handler``: standard library only, no requirements)
runs one trivial program from the bundle alone, called directly (a private scratch directory,
never the machine's /tmp).

The evaluator-registration asset (the custom-resource handler ``evaluator_registration.handler``)
is checked its own way: from the bundle alone it builds every SageMaker request the handler
sends, validates each against the bundled (pinned) botocore's service model, and runs
``on_event`` for a Delete that needs no call. Non-Python functions (the CDK Provider
framework's) are CDK's own and not checked.

Checks that the third-party packages installed in each asset are exactly its lock file
(``lambdas/locks/<asset>.txt``, ``make lock``): same names, same versions, nothing more.

Binary wheels in the bundle are built for Lambda (CPython 3.13, aarch64) and cannot load on
most development machines, so graders that need them (jsonschema -> rpds, regex -> google-re2
and regex) are not run here; instead every compiled extension must be built for that
interpreter and architecture, and RE2's and regex's must be there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

from stacks.lambda_assets import asset_for_handler, normalize_name, read_pins  # noqa: E402

EVENT = [
    {"id": "right", "messages": [{"role": "user", "content": "1/2?"},
                                 {"role": "assistant", "content": "<thinking>half</thinking>\\boxed{\\frac{1}{2}}"}],
     "metadata": {"reference_answer": {"answer": "0.5"}}},
    {"id": "wrong", "messages": [{"role": "assistant", "content": "\\boxed{3}"}], "reference_answer": "0.5"},
    {"messages": []},
]
# Handler module -> (a spec it can score without AWS, the expected scores).
CASES = {
    "rlvr.handler": ({"grader": "math"}, {"right": 1.0, "wrong": 0.0, "missing-id-2": 0.0}),
    "rlaif.handler": ({"grader": "label", "labels": ["0.5", "3"]}, {"right": 0.0, "wrong": 0.0, "missing-id-2": 0.0}),
    # The code grader loads beside math (its references here carry no tests: invalid_reference).
    "code_grader.handler": ({"grader": "multi", "graders": {"m": {"grader": "math"}, "c": {"grader": "code"}}},
                     {"right": 0.5, "wrong": 0.0, "missing-id-2": 0.0}),
}
SCRIPT = """
import json, sys
from {module} import handler
print("RESULT " + json.dumps({{o["id"]: o["aggregate_reward_score"] for o in handler(json.loads(sys.argv[1]), None)}}))
"""


EVALUATOR_MODULE = "evaluator_registration.handler"
EVALUATOR_SCRIPT = """
import json
import botocore
from botocore.validate import ParamValidator
from evaluator_registration import ai_registry as wire
from evaluator_registration.handler import on_event, sagemaker_client

model = sagemaker_client("us-east-1").meta.service_model
evaluator = wire.Evaluator("probe", "probe", "arn:aws:lambda:us-east-1:123456789012:function:probe")
hub = wire.hub_name("us-east-1", "123456789012")
requests = [wire.describe_hub(hub), wire.create_hub("us-east-1", "123456789012"),
            wire.import_evaluator(hub, evaluator, "1.0.0"), wire.describe_evaluator(hub, "probe"),
            wire.list_evaluator_versions(hub, "probe"), wire.delete_evaluator_version(hub, "probe", "1.0.0")]
assert {r.operation for r in requests} == set(wire.OPERATIONS)
for request in requests:
    report = ParamValidator().validate(request.params, model.operation_model(request.operation).input_shape)
    assert not report.has_errors(), report.generate_report()
# A Delete of an id it never returned makes no call: on_event itself runs from the bundle.
event = {"RequestType": "Delete", "PhysicalResourceId": "probe",
         "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/probe/1"}
assert on_event(event, None) == {"PhysicalResourceId": "probe"}
print("RESULT " + json.dumps({"botocore": botocore.__version__, "from": botocore.__file__}))
"""


SANDBOX_MODULE = "code_sandbox.handler"
SANDBOX_SCRIPT = """
import json
from code_sandbox.handler import handler
response = handler({"version": 1, "program": "print(sum(map(int, input().split())))", "runs": [{"stdin": "1 2"}]}, None)
print("RESULT " + json.dumps(response))
"""


def run_in_bundle(asset: Path, module: str, script: str, *args: str,
                  env: dict[str, str] | None = None) -> tuple[Any, str | None]:
    """Run ``script`` with only the bundle importable: (the value of its last ``RESULT`` line,
    None), or (None, the problem)."""
    run = subprocess.run([sys.executable, "-S", "-c", script, *args], capture_output=True, text=True, timeout=120,
                         env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(asset),
                              "PYTHONDONTWRITEBYTECODE": "1", **(env or {})})
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    if run.returncode != 0 or not lines:
        return None, f"{asset.name}: {module} failed: {run.stderr.strip().splitlines()[-1:]}"
    return json.loads(lines[-1][len("RESULT "):]), None


def check_sandbox(asset: Path) -> list[str]:
    """The executor imports from the bundle alone (no reward_kit in it) and runs a program."""
    asset = asset.resolve()
    if (asset / "reward_kit").exists():
        return [f"{asset.name}: the code executor's asset ships reward_kit (grader code)"]
    response, problem = run_in_bundle(asset, SANDBOX_MODULE, SANDBOX_SCRIPT)
    if problem:
        return [problem]
    runs = response.get("runs") or [{}]
    if response.get("status") != "ok" or runs[0].get("stdout") != "3\n":
        return [f"{asset.name}: {SANDBOX_MODULE} answered {response}, expected stdout '3\\n'"]
    return []


def pinned(package: str) -> str:
    requirements = Path(__file__).resolve().parent.parent / "lambdas/evaluator_registration/requirements.txt"
    for line in requirements.read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{package}=="):
            return line.split("==", 1)[1].strip()
    raise KeyError(package)


def check_evaluator(asset: Path) -> list[str]:
    """The registration handler imports and validates its requests with the bundled, pinned botocore."""
    asset = asset.resolve()
    if (asset / "reward_kit").exists():
        return [f"{asset.name}: the evaluator-registration asset ships reward_kit"]
    result, problem = run_in_bundle(asset, EVALUATOR_MODULE, EVALUATOR_SCRIPT,
                                    env={"AWS_ACCESS_KEY_ID": "probe", "AWS_SECRET_ACCESS_KEY": "probe"})
    if problem:
        return [problem]
    if result["botocore"] != pinned("botocore") or not result["from"].startswith(str(asset)):
        return [f"{asset.name}: runs botocore {result['botocore']} from {result['from']}, "
                f"expected the bundled {pinned('botocore')}"]
    return []


# Every compiled extension in a bundle must load on Lambda's python3.13 on arm64.
LAMBDA_EXTENSION_SUFFIX = ".cpython-313-aarch64-linux-gnu.so"
# In every reward asset: the regex grader's engines (RE2, and regex for what RE2 cannot run).
REWARD_EXTENSIONS = ("re2/_re2", "regex/_regex")


def check_extensions(asset: Path) -> list[str]:
    problems = []
    for path in sorted(asset.rglob("*.so")):
        if not (path.name.endswith(LAMBDA_EXTENSION_SUFFIX) or path.name.endswith(".abi3.so")):
            problems.append(f"{asset.name}: {path.relative_to(asset)} is not built for CPython 3.13 aarch64")
    if (asset / "reward_kit").is_dir():
        for stem in REWARD_EXTENSIONS:
            if not (asset / f"{stem}{LAMBDA_EXTENSION_SUFFIX}").is_file():
                problems.append(f"{asset.name}: {stem}{LAMBDA_EXTENSION_SUFFIX} is missing")
    return problems


def check(asset: Path, modules: list[str] | None = None) -> list[str]:
    """Problems with one asset, scoring through each of ``modules`` (default: every reward one)."""
    problems = check_extensions(asset)
    for module in modules or list(CASES):
        if module == EVALUATOR_MODULE:
            problems += check_evaluator(asset)
            continue
        if module == SANDBOX_MODULE:
            problems += check_sandbox(asset)
            continue
        if module not in CASES:
            problems.append(f"{asset.name}: no smoke test for handler module {module!r} (add one to CASES)")
            continue
        spec, expected = CASES[module]
        scores, problem = run_in_bundle(asset, module, SCRIPT.format(module=module), json.dumps(EVENT),
                                        env={"REWARD_SPEC": json.dumps(spec), "POWERTOOLS_METRICS_DISABLED": "true"})
        if problem:
            problems.append(problem)
        elif scores != expected:
            problems.append(f"{asset.name}: {module} scored {scores}, expected {expected}")
    return problems


def function_assets(out: Path) -> dict[Path, set[str]]:
    """Asset directory -> handler modules of the Lambda functions using it, from every template."""
    assets: dict[Path, set[str]] = {}
    for template in sorted(out.glob("*.template.json")):
        resources = json.loads(template.read_text(encoding="utf-8")).get("Resources", {})
        for resource in resources.values():
            if resource.get("Type") != "AWS::Lambda::Function":
                continue
            runtime = resource.get("Properties", {}).get("Runtime")
            if runtime and not str(runtime).startswith("python"):
                continue  # the CDK Provider framework's Node.js function: CDK's own code
            path = resource.get("Metadata", {}).get("aws:asset:path")
            handler = resource.get("Properties", {}).get("Handler", "")
            if path:
                assets.setdefault(out / path, set()).add(handler.rsplit(".", 1)[0])
    return assets


def installed_distributions(asset: Path) -> dict[str, str]:
    """{normalized name: version} of every ``*.dist-info`` at the asset's top level."""
    installed: dict[str, str] = {}
    for metadata in asset.glob("*.dist-info/METADATA"):
        fields: dict[str, str] = {}
        for line in metadata.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                break  # end of the headers
            key, _, value = line.partition(":")
            fields.setdefault(key.strip().lower(), value.strip())
        installed[normalize_name(fields.get("name", metadata.parent.name))] = fields.get("version", "?")
    return installed


def lock_mismatches(asset: Path, modules: set[str]) -> list[str]:
    """Differences between the packages installed in the asset and its lock file."""
    locks = {a.name: a for a in (asset_for_handler(module) for module in modules) if a is not None}
    if len(locks) != 1:
        return [f"{asset.name}: cannot tell which asset (lock) handlers {sorted(modules)} belong to"]
    (spec,) = locks.values()
    installed = installed_distributions(asset)
    if spec.requirements is None:
        return [f"{asset.name}: {name}=={version} installed, but asset {spec.name} has no requirements"
                for name, version in sorted(installed.items())]
    if not spec.lock_path.is_file():
        return [f"{asset.name}: {spec.lock_path} is missing (run `make lock`)"]
    locked = read_pins(spec.lock_path)
    lock = spec.lock_path.relative_to(ROOT)
    problems = [f"{asset.name}: {name}=={version} from {lock} is "
                + (f"installed at {installed[name]}" if name in installed else "not installed")
                for name, version in sorted(locked.items()) if installed.get(name) != version]
    problems += [f"{asset.name}: {name}=={version} is installed but not in {lock}"
                 for name, version in sorted(installed.items()) if name not in locked]
    return problems


def foreign_packages(asset: Path, modules: set[str]) -> list[str]:
    """Entry-point packages of lambdas/ in the asset that none of its handlers belongs to."""
    own = {module.split(".")[0] for module in modules}
    entry_points = {module.split(".")[0] for module in [*CASES, EVALUATOR_MODULE, SANDBOX_MODULE]}
    return sorted(p for p in entry_points - own if (asset / p).exists())


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "cdk.out")
    assets = function_assets(out)
    if not assets:
        print(f"check_bundle: no Lambda function asset in {out}/", file=sys.stderr)
        return 1
    problems = []
    for asset, modules in sorted(assets.items()):
        if not asset.is_dir():
            problems.append(f"{asset.name}: missing from {out}/")
            continue
        problems += [f"{asset.name}: ships {p}/, which its handlers {sorted(modules)} never import"
                     for p in foreign_packages(asset, modules)]
        problems += lock_mismatches(asset, modules)
        problems += check(asset, sorted(modules))
    for problem in problems:
        print(f"check_bundle: {problem}", file=sys.stderr)
    if not problems:
        listed = ", ".join(f"{asset.name} ({', '.join(sorted(modules))})" for asset, modules in sorted(assets.items()))
        print(f"bundle OK: {len(assets)} asset(s) match their locks, import and score (or, for the evaluator "
              f"registration, validate their requests) from the bundle alone: {listed}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
