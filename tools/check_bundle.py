"""Smoke-test the synthesized Lambda bundle(s) in cdk.out/ (run by `make synth`).

Imports each reward handler from the bundle alone (``python -S``: no site-packages, so
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
CASES = {
    "rlvr.handler": ({"grader": "math"}, {"right": 1.0, "wrong": 0.0, "missing-id-2": 0.0}),
    "rlaif.handler": ({"grader": "label", "labels": ["0.5", "3"]}, {"right": 0.0, "wrong": 0.0, "missing-id-2": 0.0}),
}
SCRIPT = """
import json, sys
from {module} import handler
print("RESULT " + json.dumps({{o["id"]: o["aggregate_reward_score"] for o in handler(json.loads(sys.argv[1]), None)}}))
"""


def check(asset: Path) -> list[str]:
    problems = []
    for module, (spec, expected) in CASES.items():
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


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "cdk.out")
    assets = sorted(p for p in out.glob("asset.*") if (p / "reward_kit").is_dir())
    if not assets:
        print(f"check_bundle: no reward Lambda asset in {out}/", file=sys.stderr)
        return 1
    problems = [problem for asset in assets for problem in check(asset)]
    for problem in problems:
        print(f"check_bundle: {problem}", file=sys.stderr)
    if not problems:
        print(f"bundle OK: {len(assets)} asset(s) import and score from the bundle alone")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
