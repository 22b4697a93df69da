"""``make lock``: write every Lambda asset's lock file from its top-level requirements.

For each asset in ``stacks.lambda_assets.ASSETS`` with requirements, uv resolves them for the
platform the bundler installs for (manylinux aarch64 wheels, CPython 3.13) and writes
``lambdas/locks/<asset>.txt``: every transitive package pinned, with hashes. Assets without
requirements get no lock; locks of assets that no longer exist are removed.

    python tools/lock.py            # (re)write every lock
    python tools/lock.py --check    # fail if a lock is missing or does not pin a top-level requirement
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

from stacks.lambda_assets import (  # noqa: E402
    ASSETS,
    LAMBDA_PYTHON_VERSION,
    LOCKS_DIR,
    UV_PYTHON_PLATFORM,
    LambdaAsset,
    read_pins,
)


def uv_command(asset: LambdaAsset, uv: str) -> list[str]:
    assert asset.requirements_path is not None
    return [
        uv, "pip", "compile", str(asset.requirements_path.relative_to(ROOT)),
        "--generate-hashes", "--only-binary", ":all:",
        "--python-version", LAMBDA_PYTHON_VERSION, "--python-platform", UV_PYTHON_PLATFORM,
        "--custom-compile-command", "make lock", "--quiet",
        "--output-file", str(asset.lock_path.relative_to(ROOT)),
    ]


def stale_pins(asset: LambdaAsset) -> list[str]:
    """Top-level requirements the asset's lock does not pin at the same version."""
    assert asset.requirements_path is not None
    if not asset.lock_path.is_file():
        return [f"{asset.lock_path.relative_to(ROOT)} is missing"]
    locked = read_pins(asset.lock_path)
    return [
        f"{asset.lock_path.relative_to(ROOT)}: {name}=={version} from {asset.requirements} is "
        + (f"locked at {locked[name]}" if name in locked else "not in the lock")
        for name, version in read_pins(asset.requirements_path).items()
        if locked.get(name) != version
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the locks against the requirements")
    parser.add_argument("--uv", default=str(Path(sys.executable).with_name("uv")), help="uv executable")
    args = parser.parse_args(argv)

    locked_assets = [asset for asset in ASSETS.values() if asset.requirements is not None]
    if args.check:
        problems = [problem for asset in locked_assets for problem in stale_pins(asset)]
        for problem in problems:
            print(f"lock: {problem} (run `make lock`)", file=sys.stderr)
        return 1 if problems else 0

    LOCKS_DIR.mkdir(exist_ok=True)
    env = {**os.environ, "UV_NO_CONFIG": "1"}  # no user/system uv.toml may change the resolution
    for asset in locked_assets:
        result = subprocess.run(uv_command(asset, args.uv), cwd=ROOT, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"lock: uv failed for {asset.name}:\n{result.stderr.strip()}", file=sys.stderr)
            return 1
        print(f"lock: {asset.lock_path.relative_to(ROOT)} ({len(read_pins(asset.lock_path))} packages)")
    wanted = {asset.lock_path for asset in locked_assets}
    for old in sorted(LOCKS_DIR.glob("*.txt")):
        if old not in wanted:
            old.unlink()
            print(f"lock: removed {old.relative_to(ROOT)} (no such asset)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
