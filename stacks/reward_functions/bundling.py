"""Docker-free bundling of the reward Lambda assets: one asset per function kind.

Each function kind (``reward_kit.kinds.FUNCTION_KINDS``) ships only the top-level packages of
``lambdas/`` it imports (``reward_kit`` plus its own entry point: the rlvr asset holds no
``rlaif/``, and a future evaluator or sandbox runner gets its own asset). They are copied
as they are and ``lambdas/requirements.txt`` is installed next to them with pip's
cross-platform wheel selection (manylinux aarch64, CPython 3.13, wheels only), so
``cdk synth`` works on any machine with Python and network access to the package index; no
Docker needed. pip runs once per synth: every kind copies the same installed tree.

One bundling per kind is shared by every function of that kind in the app, so each asset
is built once per synth (CDK caches staging by source path + bundling options + excludes).
Tests skip bundling entirely with the context ``aws:cdk:bundling-stacks = []``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from reward_kit.kinds import FUNCTION_KINDS

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


# pip command -> the directory it installed into (every kind's asset copies the same tree).
_PIP_TREES: dict[tuple[str, ...], Path] = {}


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
        packages: Sequence[str] | None = None,
    ) -> None:
        """``packages``: top-level entries of ``source_dir`` to ship (None: all of them)."""
        self.source_dir = Path(source_dir).resolve()
        self.packages = None if packages is None else tuple(packages)
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
        ignore = shutil.ignore_patterns(*EXCLUDE)
        if self.packages is None:
            shutil.copytree(self.source_dir, output_dir, dirs_exist_ok=True, ignore=ignore)
            return
        for package in self.packages:
            shutil.copytree(self.source_dir / package, Path(output_dir) / package, dirs_exist_ok=True, ignore=ignore)

    def try_bundle(self, output_dir: str, *_options: Any, **_kw_options: Any) -> bool:
        self.copy_sources(output_dir)
        if self.requirements.exists():
            shutil.copytree(self._installed_requirements(), output_dir, dirs_exist_ok=True)
        return True

    def _installed_requirements(self) -> Path:
        """The requirements pip-installed into a temporary directory, once per process and command."""
        key = tuple(self.pip_command("<target>"))
        target = _PIP_TREES.get(key)
        if target is None:
            target = Path(tempfile.mkdtemp(prefix="reward-lambda-deps-"))
            result = subprocess.run(self.pip_command(str(target)), capture_output=True, text=True)
            if result.returncode != 0:
                tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-5:])
                raise BundlingError(f"pip install for the Lambda bundle failed ({result.returncode}): {tail}")
            _PIP_TREES[key] = target
        return target


def bundled_code_options(source_dir: Path, packages: Sequence[str] | None = None,
                         requirements: str = "requirements.txt") -> dict[str, Any]:
    """Keyword arguments for ``lambda_.Code.from_asset(str(source_dir), **options)``.

    ``packages``: the top-level entries of ``source_dir`` this asset ships (None: all); the
    others are excluded, which also keeps the kinds' assets apart in CDK's staging cache.
    ``requirements``: the pip requirements installed next to them (relative to ``source_dir``).
    ``image`` is required by ``BundlingOptions`` but never used: the local bundler always
    succeeds or raises, so CDK never falls back to Docker.
    """
    exclude = list(EXCLUDE)
    if packages is not None:
        exclude += sorted(
            entry.name for entry in Path(source_dir).iterdir() if entry.is_dir() and entry.name not in packages
        )
    return {
        "bundling": BundlingOptions(
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
            local=LocalPipBundling(source_dir, requirements, packages=packages),
        ),
        # The bundle's content decides the hash: a dependency upgrade is a new asset.
        "asset_hash_type": AssetHashType.OUTPUT,
        "exclude": exclude,
    }


def function_kind_code_options(source_dir: Path) -> dict[str, dict[str, Any]]:
    """Function kind -> its ``Code.from_asset`` options: one asset per kind, holding only its packages."""
    return {name: bundled_code_options(source_dir, kind.packages) for name, kind in FUNCTION_KINDS.items()}
