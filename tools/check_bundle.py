"""Smoke-test every synthesized Lambda bundle in cdk.out/ (run by `make synth`).

Finds the assets from the templates: every ``AWS::Lambda::Function`` names its asset
(``aws:asset:path`` metadata) and its handler, so each asset is checked with the handlers
of the functions that use it, whatever it contains. Checks that an asset holds only what
its function kind ships (no other kind's entry point: the rlvr asset has no ``rlaif/``).
Imports each handler from the bundle alone (``python -S``: no site-packages, so
nothing from the development virtualenv can hide a missing file) and scores a tiny event
with a label and a math spec: this proves the asset holds the runtime and the pure-Python
dependencies the graders load lazily (math-verify, sympy, antlr4, Powertools).

Binary wheels in the bundle are built for Lambda (CPython 3.13, aarch64) and cannot load on
most development machines, so graders that need them (jsonschema -> rpds) are not run here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
}
SCRIPT = """
import json, sys
from {module} import handler
print("RESULT " + json.dumps({{o["id"]: o["aggregate_reward_score"] for o in handler(json.loads(sys.argv[1]), None)}}))
"""


def check(asset: Path, modules: list[str] | None = None) -> list[str]:
    """Problems with one asset, scoring through each of ``modules`` (default: every known one)."""
    problems = []
    for module in modules or list(CASES):
        if module not in CASES:
            problems.append(f"{asset.name}: no smoke test for handler module {module!r} (add one to CASES)")
            continue
        spec, expected = CASES[module]
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(asset), "REWARD_SPEC": json.dumps(spec),
               "PYTHONDONTWRITEBYTECODE": "1", "POWERTOOLS_METRICS_DISABLED": "true"}
        run = subprocess.run([sys.executable, "-S", "-c", SCRIPT.format(module=module), json.dumps(EVENT)],
                             capture_output=True, text=True, env=env, timeout=120)
        lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
        if run.returncode != 0 or not lines:
            problems.append(f"{asset.name}: {module} failed: {run.stderr.strip().splitlines()[-1:]}")
        elif json.loads(lines[-1][len("RESULT "):]) != expected:
            problems.append(f"{asset.name}: {module} scored {lines[-1]}, expected {expected}")
    return problems


def function_assets(out: Path) -> dict[Path, set[str]]:
    """Asset directory -> handler modules of the Lambda functions using it, from every template."""
    assets: dict[Path, set[str]] = {}
    for template in sorted(out.glob("*.template.json")):
        resources = json.loads(template.read_text(encoding="utf-8")).get("Resources", {})
        for resource in resources.values():
            if resource.get("Type") != "AWS::Lambda::Function":
                continue
            path = resource.get("Metadata", {}).get("aws:asset:path")
            handler = resource.get("Properties", {}).get("Handler", "")
            if path:
                assets.setdefault(out / path, set()).add(handler.rsplit(".", 1)[0])
    return assets


def foreign_packages(asset: Path, modules: set[str]) -> list[str]:
    """Entry-point packages of lambdas/ in the asset that none of its handlers belongs to."""
    own = {module.split(".")[0] for module in modules}
    entry_points = {module.split(".")[0] for module in CASES}
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
        problems += check(asset, sorted(modules))
    for problem in problems:
        print(f"check_bundle: {problem}", file=sys.stderr)
    if not problems:
        listed = ", ".join(f"{asset.name} ({', '.join(sorted(modules))})" for asset, modules in sorted(assets.items()))
        print(f"bundle OK: {len(assets)} asset(s) import and score from the bundle alone: {listed}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
