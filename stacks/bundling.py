"""Docker-free, reproducible bundling of the Lambda assets (the mechanism behind
``stacks.lambda_plumbing.asset_code_options``).

Each asset (``stacks.lambda_assets.ASSETS``: one per function kind in
``reward_kit.kinds.FUNCTION_KINDS``, one per other component with a runtime) ships only the top-level packages of ``lambdas/`` it
imports (``reward_kit`` plus its own entry point: the rlvr asset holds no ``rlaif/``). They
are copied as they are, and the asset's lock file (``lambdas/locks/<asset>.txt``, written by
``make lock``: every transitive package pinned, with hashes) is installed next to them with
``pip --require-hashes --no-deps`` and pip's cross-platform wheel selection (manylinux
aarch64, CPython 3.13, wheels only), so ``cdk synth`` works on any machine with Python and
access to the package index (or a warm pip cache); no Docker needed.

The bundle is reproducible: the same commit gives byte-identical assets (same files, same
bytes, same modes and times). pip writes no bytecode (``--no-compile``); console scripts
(``bin/``, whose first line names the local interpreter) are dropped along with their
RECORD lines; every file and folder gets mode 0644/0755 and a fixed mtime. pip runs once
per lock content per synth: assets with identical locks copy the same installed tree.

Tests skip bundling entirely with the context ``aws:cdk:bundling-stacks = []``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling

from stacks.lambda_assets import LAMBDA_PYTHON_VERSION, PIP_PLATFORMS

# Every bundled file's mtime (the zip format's earliest date, as the CDK CLI's zips use).
FIXED_MTIME = 315532800  # 1980-01-01T00:00:00Z

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


# (pip command, lock content hash) -> the directory it installed into (assets with the same lock share it).
_PIP_TREES: dict[tuple[str, ...], Path] = {}


class BundlingError(RuntimeError):
    """pip could not build the Lambda bundle (message carries pip's last lines)."""


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """``ILocalBundling`` that copies the asset's packages and pip-installs its lock file."""

    def __init__(
        self,
        source_dir: Path,
        lock: Path | str | None = None,
        *,
        python: str = sys.executable,
        python_version: str = LAMBDA_PYTHON_VERSION,
        platforms: Sequence[str] = PIP_PLATFORMS,
        packages: Sequence[str] | None = None,
    ) -> None:
        """``lock``: the hashed lock file to install (None: no third-party packages);
        ``packages``: top-level entries of ``source_dir`` to ship (None: all of them)."""
        self.source_dir = Path(source_dir).resolve()
        self.packages = None if packages is None else tuple(packages)
        self.lock = None if lock is None else Path(lock).resolve()
        self.python = python
        self.python_version = python_version
        self.platforms = tuple(platforms)

    def pip_command(self, output_dir: str) -> list[str]:
        """Install exactly the lock: every package pinned and hash-checked, nothing resolved."""
        assert self.lock is not None
        platforms = [arg for platform in self.platforms for arg in ("--platform", platform)]
        return [
            self.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-compile", "--require-hashes", "--no-deps", *platforms, "--implementation", "cp",
            "--python-version", self.python_version, "--only-binary=:all:",
            "--target", output_dir, "-r", str(self.lock),
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
        if self.lock is not None:
            if not self.lock.is_file():
                raise BundlingError(f"{self.lock} is missing: run `make lock` to write the asset's locked requirements")
            shutil.copytree(self._installed_lock(), output_dir, dirs_exist_ok=True)
        normalize_tree(Path(output_dir))
        return True

    def _installed_lock(self) -> Path:
        """The lock pip-installed into a temporary directory, once per process and lock content."""
        assert self.lock is not None
        key = (*self.pip_command("<target>")[:-1], hashlib.sha256(self.lock.read_bytes()).hexdigest())
        target = _PIP_TREES.get(key)
        if target is None:
            target = Path(tempfile.mkdtemp(prefix="reward-lambda-deps-"))
            result = subprocess.run(self.pip_command(str(target)), capture_output=True, text=True)
            if result.returncode != 0:
                tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-5:])
                raise BundlingError(f"pip install of {self.lock.name} for the Lambda bundle failed "
                                    f"({result.returncode}): {tail}")
            drop_console_scripts(target)
            _PIP_TREES[key] = target
        return target


def drop_console_scripts(target: Path) -> None:
    """Remove ``bin/`` (console scripts: Lambda never runs them, and their first line names the
    local interpreter) and its lines in every RECORD, so the tree is machine-independent."""
    shutil.rmtree(target / "bin", ignore_errors=True)
    for record in target.glob("*.dist-info/RECORD"):
        lines = record.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if not _is_script(line.split(",", 1)[0])]
        if kept != lines:
            record.write_text("".join(kept), encoding="utf-8")


def _is_script(recorded_path: str) -> bool:
    """``bin/x`` or ``../../bin/x`` (pip records scripts relative to the install target)."""
    parts = [part for part in recorded_path.split("/") if part != ".."]
    return len(parts) > 1 and parts[0] == "bin"


def normalize_tree(root: Path) -> None:
    """Same modes and mtimes on every machine and every run: byte-identical assets and zips."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink():
                continue
            executable = path.stat().st_mode & 0o111
            path.chmod(0o755 if executable else 0o644)
            os.utime(path, (FIXED_MTIME, FIXED_MTIME))
        for name in dirnames:
            (Path(dirpath) / name).chmod(0o755)
    for dirpath, dirnames, _ in os.walk(root):
        for name in dirnames:
            os.utime(Path(dirpath) / name, (FIXED_MTIME, FIXED_MTIME))
    root.chmod(0o755)
    os.utime(root, (FIXED_MTIME, FIXED_MTIME))


def bundled_code_options(source_dir: Path, packages: Sequence[str] | None = None,
                         lock: Path | None = None) -> dict[str, Any]:
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
            local=LocalPipBundling(source_dir, lock, packages=packages),
        ),
        # The bundle's content decides the hash: a dependency upgrade is a new asset.
        "asset_hash_type": AssetHashType.OUTPUT,
        "exclude": exclude,
    }
