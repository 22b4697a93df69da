"""Check that cdk.json is valid JSON before anything reads it, with the error's line and column.

The CDK CLI reports a syntax error in cdk.json as ``cdk.json: Unexpected token ... is not valid
JSON`` without a line; this prints ``cdk.json:<line>:<column>: <what>`` and the line itself, and
exits 2. Every make target runs it (``make setup``). Standard library only: it runs before the
virtualenv exists.

    python3 tools/check_cdk_json.py [path ...]     (default: cdk.json)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Sequence


def check(path: Path) -> str | None:
    """None when ``path`` holds one JSON object, else the error as editors and compilers write it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"{path}: cannot read: {exc}"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        line = text.splitlines()[exc.lineno - 1] if exc.lineno - 1 < len(text.splitlines()) else ""
        return f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}\n    {line.strip()}"
    if not isinstance(document, dict) or not isinstance(document.get("context", {}), dict):
        return f"{path}:1:1: must be a JSON object whose 'context' is an object"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or [Path("cdk.json")]
    errors = [e for e in (check(p) for p in paths) if e]
    for error in errors:
        print(error, file=sys.stderr)
    return 2 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
