"""Docker-free bundling of the reward Lambda asset.

The asset root is ``lambdas/``: its packages (``reward_kit``, ``rlvr``, ...) are copied as they
are and ``lambdas/requirements.txt`` is installed next to them with pip's cross-platform
wheel selection (manylinux aarch64, CPython 3.13, wheels only), so ``cdk synth`` works on any
machine with Python and network access to the package index; no Docker needed.

One ``LocalPipBundling`` instance is shared by every function in the app, so the bundle is
built once per synth (CDK caches staging by source path + bundling options).
Tests skip bundling entirely with the context ``aws:cdk:bundling-stacks = []``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

LAMBDA_PYTHON_VERSION = "3.13"
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_13
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
# Lambda's python3.13 runs on Amazon Linux 2023 (glibc 2.34): both tags are loadable.
PIP_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")

# Never shipped: tests, caches, build debris, local virtualenvs.
EXCLUDE = (
    "tests",
    "test",
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".venv",
    "*.egg-info",
    ".DS_Store",
)


class BundlingError(RuntimeError):
    """pip could not build the Lambda bundle (message carries pip's last lines)."""


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """``ILocalBundling`` that copies the asset's packages and pip-installs its requirements."""

    def __init__(
        self,
        source_dir: Path,
        requirements: str = "requirements.txt",
        *,
        python: str = sys.executable,
        python_version: str = LAMBDA_PYTHON_VERSION,
        platforms: Sequence[str] = PIP_PLATFORMS,
    ) -> None:
        self.source_dir = Path(source_dir).resolve()
        self.requirements = self.source_dir / requirements
        self.python = python
        self.python_version = python_version
        self.platforms = tuple(platforms)

    def pip_command(self, output_dir: str) -> list[str]:
        platforms = [arg for platform in self.platforms for arg in ("--platform", platform)]
        return [
            self.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-compile", *platforms, "--implementation", "cp",
            "--python-version", self.python_version, "--only-binary=:all:",
            "--target", output_dir, "-r", str(self.requirements),
        ]

    def copy_sources(self, output_dir: str) -> None:
        shutil.copytree(self.source_dir, output_dir, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(*EXCLUDE))

    def try_bundle(self, output_dir: str, *_options: Any, **_kw_options: Any) -> bool:
        self.copy_sources(output_dir)
        if self.requirements.exists():
            result = subprocess.run(self.pip_command(output_dir), capture_output=True, text=True)
            if result.returncode != 0:
                tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-5:])
                raise BundlingError(f"pip install for the Lambda bundle failed ({result.returncode}): {tail}")
        return True


def bundled_code_options(source_dir: Path) -> dict[str, Any]:
    """Keyword arguments for ``lambda_.Code.from_asset(str(source_dir), **options)``.

    ``image`` is required by ``BundlingOptions`` but never used: the local bundler always
    succeeds or raises, so CDK never falls back to Docker.
    """
    return {
        "bundling": BundlingOptions(
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
            local=LocalPipBundling(source_dir),
        ),
        # The bundle's content decides the hash: a dependency upgrade is a new asset.
        "asset_hash_type": AssetHashType.OUTPUT,
        "exclude": list(EXCLUDE),
    }
