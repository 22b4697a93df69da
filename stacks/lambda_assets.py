"""Every Lambda asset the app builds, and where its locked dependencies live. No CDK imports.

An asset is a named set of top-level packages of ``lambdas/`` plus the third-party packages
its top-level requirements file asks for. ``make lock`` (``tools/lock.py``) resolves each
asset's requirements with uv for the Lambda platform (manylinux aarch64, CPython 3.13,
wheels only) into ``lambdas/locks/<asset>.txt``: every transitive package pinned, with
hashes. Bundling installs exactly that file with ``pip --require-hashes --no-deps``, and
``tools/check_bundle.py`` checks the installed packages match it.

Adding a dependency: edit the asset's top-level requirements (``lambdas/requirements.txt``
for the reward functions) and run ``make lock``. Adding an asset: add a ``LambdaAsset`` row
here (a function kind in ``reward_kit.kinds.FUNCTION_KINDS`` gets one automatically) and run
``make lock``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from reward_kit.kinds import FUNCTION_KINDS

ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = ROOT / "lambdas"
LOCKS_DIR = LAMBDAS_DIR / "locks"

# The Lambda platform the locks and the bundles target (one place for both).
LAMBDA_PYTHON_VERSION = "3.13"
# Lambda's python3.13 runs on Amazon Linux 2023 (glibc 2.34): both tags are loadable.
PIP_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
# uv's name for the newest of those (uv accepts every wheel tag up to it).
UV_PYTHON_PLATFORM = "aarch64-manylinux_2_28"


@dataclass(frozen=True)
class LambdaAsset:
    name: str  # also the lock file's name
    packages: tuple[str, ...]  # top-level folders of lambdas/ the asset ships
    requirements: str | None = "requirements.txt"  # top-level requirements, relative to lambdas/ (None: none)

    @property
    def requirements_path(self) -> Path | None:
        return None if self.requirements is None else LAMBDAS_DIR / self.requirements

    @property
    def lock_path(self) -> Path:
        return LOCKS_DIR / f"{self.name}.txt"


# One asset per function kind (reward_kit + the kind's entry point; lambdas/requirements.txt),
# then one row per other component with its own asset.
ASSETS: dict[str, LambdaAsset] = {name: LambdaAsset(name, kind.packages) for name, kind in FUNCTION_KINDS.items()}
# The evaluator-registration custom resource: its package and its pinned AWS SDK.
ASSETS["evaluator_registration"] = LambdaAsset(
    "evaluator_registration", ("evaluator_registration",), "evaluator_registration/requirements.txt"
)
ASSETS["code_sandbox"] = LambdaAsset("code_sandbox", ("code_sandbox",), None)


def asset_for_handler(handler_module: str) -> LambdaAsset | None:
    """The asset whose own entry point is ``handler_module``'s top-level package (``rlvr.handler`` -> rlvr)."""
    package = handler_module.split(".")[0]
    matches = [asset for asset in ASSETS.values() if package in asset.packages]
    # Shared packages (reward_kit) are in several assets; an entry point in exactly one.
    return matches[0] if len(matches) == 1 else None


_PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def normalize_name(name: str) -> str:
    """PEP 503 normalized distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements or lock file -> {normalized name: version}."""
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _PIN_RE.match(line.strip())
        if match:
            pins[normalize_name(match.group(1))] = match.group(2)
    return pins
