"""The Node.js the CDK app's jsii runtime runs on, checked before ``aws_cdk`` is imported.

``package.json`` pins a supported Node LTS (``engines``). On an older Node, jsii prints a
12-line end-of-life banner on every app run (``make synth``, ``npx cdk synth``, ``cdk deploy``);
this replaces it with one line that says what to install. Nothing here imports ``aws_cdk``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import MutableMapping

ROOT = Path(__file__).resolve().parent.parent
JSII_EOL_SILENCE = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"


def required_major(package_json: Path = ROOT / "package.json") -> int:
    """The lowest Node major version ``engines.node`` (``>=N``) accepts."""
    engines = json.loads(package_json.read_text(encoding="utf-8"))["engines"]["node"]
    match = re.fullmatch(r">=\s*(\d+)(?:\.\d+)*", engines.strip())
    if match is None:
        raise ValueError(f"package.json engines.node: expected '>=N', got {engines!r}")
    return int(match.group(1))


def node_major() -> int | None:
    """The major version of the ``node`` jsii will start (the first on PATH), or None without one."""
    node = shutil.which("node")
    if node is None:
        return None
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"v(\d+)\.", version.strip())
    return int(match.group(1)) if match else None


def quiet_jsii(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Silence jsii's banner for an older Node (this major version only) and return the one line
    to print instead; None when Node is recent enough (or absent: jsii reports that itself)."""
    major, required = node_major(), required_major()
    if major is None or major >= required:
        return None
    silenced = [v for v in environ.get(JSII_EOL_SILENCE, "").split(",") if v.strip()]
    if str(major) not in silenced:
        environ[JSII_EOL_SILENCE] = ",".join([*silenced, str(major)])
    return f"note: Node {major} runs the CDK app; package.json asks for Node {required}+ (a supported LTS): please upgrade"
