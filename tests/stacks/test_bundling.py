"""stacks.bundling (and the asset options of stacks.lambda_plumbing) without running pip: the command line, what gets copied,
and the normalization that makes two bundles of the same sources byte-identical."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reward_kit.kinds import FUNCTION_KINDS
from stacks.bundling import FIXED_MTIME, BundlingError, LocalPipBundling, drop_console_scripts
from stacks.lambda_assets import ASSETS
from stacks.lambda_plumbing import function_kind_code_options
from tools.tree_digest import tree_digest


def test_pip_command_installs_the_lock_with_hashes_for_lambda_arm64_python313(tmp_path: Path) -> None:
    lock = tmp_path / "locks" / "rlvr.txt"
    command = LocalPipBundling(tmp_path, lock, python="/venv/bin/python").pip_command("/out")
    assert command[:4] == ["/venv/bin/python", "-m", "pip", "install"]
    joined = " ".join(command)
    assert "--platform manylinux2014_aarch64" in joined
    assert "--implementation cp" in joined and "--python-version 3.13" in joined
    assert {"--only-binary=:all:", "--no-compile", "--require-hashes", "--no-deps"} <= set(command)
    assert joined.endswith(f"--target /out -r {lock.resolve()}")


def test_every_function_kind_bundles_its_own_lock() -> None:
    options = function_kind_code_options(Path("lambdas"))
    assert set(options) == set(FUNCTION_KINDS)
    for kind, option in options.items():
        local = option["bundling"].local
        assert local.lock == ASSETS[kind].lock_path.resolve()
        assert local.packages == ASSETS[kind].packages


def test_a_missing_lock_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    with pytest.raises(BundlingError, match="make lock"):
        LocalPipBundling(tmp_path, tmp_path / "locks" / "nope.txt", packages=["pkg"]).try_bundle(str(tmp_path / "o"))


def test_copies_packages_but_not_tests_or_caches(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for rel in ("pkg/__init__.py", "pkg/mod.py", "pkg/__pycache__/mod.cpython-313.pyc", "tests/test_x.py",
                "pkg/tests/test_y.py", ".pytest_cache/x"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text("x")
    out = tmp_path / "out"
    # No lock: only the copy runs.
    assert LocalPipBundling(src).try_bundle(str(out)) is True
    copied = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert copied == ["pkg/__init__.py", "pkg/mod.py"]


def test_two_bundles_of_the_same_sources_are_byte_identical(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "mod.py").write_text("x = 1\n")
    (src / "pkg" / "run.sh").write_text("#!/bin/sh\n")
    (src / "pkg" / "run.sh").chmod(0o775)
    first, second = tmp_path / "a", tmp_path / "b"
    LocalPipBundling(src, packages=["pkg"]).try_bundle(str(first))
    os.utime(src / "pkg" / "mod.py", (1_700_000_000, 1_700_000_000))  # a checkout at another time
    (src / "pkg" / "mod.py").chmod(0o600)  # another umask
    LocalPipBundling(src, packages=["pkg"]).try_bundle(str(second))
    assert tree_digest(first) == tree_digest(second)
    assert (second / "pkg" / "mod.py").stat().st_mtime == FIXED_MTIME
    assert (second / "pkg" / "run.sh").stat().st_mode & 0o777 == 0o755
    (second / "pkg" / "mod.py").write_text("x = 2\n")
    os.utime(second / "pkg" / "mod.py", (FIXED_MTIME, FIXED_MTIME))
    assert tree_digest(first) != tree_digest(second)  # the digest sees content


def test_console_scripts_and_their_record_lines_are_dropped(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "isympy").write_text("#!/home/someone/.venv/bin/python\n")
    info = tmp_path / "sympy-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("sympy/__init__.py,sha256=x,1\n../../bin/isympy,sha256=y,2\nbin/isympy,sha256=y,2\n"
                                 "../../share/man/isympy.1,sha256=z,3\n")
    drop_console_scripts(tmp_path)
    assert not (tmp_path / "bin").exists()
    assert (info / "RECORD").read_text() == "sympy/__init__.py,sha256=x,1\n../../share/man/isympy.1,sha256=z,3\n"


def test_make_repro_compares_zips_for_every_asset_and_mtimes_for_ours(tmp_path: Path) -> None:
    import json

    from tools import tree_digest as repro

    template = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Metadata": {"aws:asset:path": "asset.ours"},
                                     "Properties": {"Handler": "rlvr.handler.handler", "Runtime": "python3.13"}}}}
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        for asset in ("asset.ours", "asset.cdks"):
            (out / asset).mkdir(parents=True)
            (out / asset / "f.py").write_text("x = 1\n")
            os.utime(out / asset / "f.py", (FIXED_MTIME, FIXED_MTIME))
        (out / "S.template.json").write_text(json.dumps(template))
        outs.append(out)
    os.utime(outs[1] / "asset.cdks" / "f.py", (1_700_000_000, 1_700_000_000))  # CDK's copy: zips ignore mtimes
    assert repro.main([str(outs[0]), str(outs[1])]) == 0
    os.utime(outs[1] / "asset.ours" / "f.py", (1_700_000_000, 1_700_000_000))  # ours must not drift at all
    assert repro.main([str(outs[0]), str(outs[1])]) == 1
    os.utime(outs[1] / "asset.ours" / "f.py", (FIXED_MTIME, FIXED_MTIME))
    (outs[1] / "asset.cdks" / "f.py").chmod(0o600)  # a mode is in the zip
    assert repro.main([str(outs[0]), str(outs[1])]) == 1


def test_each_kind_bundles_only_its_own_packages(tmp_path: Path) -> None:
    from stacks.app_builder import LAMBDAS_DIR
    from stacks.bundling import LocalPipBundling
    from stacks.lambda_plumbing import function_kind_code_options

    options = function_kind_code_options(LAMBDAS_DIR)
    assert "rlaif" in options["rlvr"]["exclude"] and "rlvr" in options["rlaif"]["exclude"]
    for kind, packages in {"rlvr": ["reward_kit", "rlvr"], "rlaif": ["reward_kit", "rlaif"]}.items():
        out = tmp_path / kind
        bundler = LocalPipBundling(LAMBDAS_DIR, None, packages=packages)  # no lock: no pip
        assert bundler.try_bundle(str(out))
        assert sorted(p.name for p in out.iterdir()) == packages
