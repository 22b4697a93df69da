"""stacks.reward_functions.bundling without running pip: the command line and what gets copied."""

from __future__ import annotations

from pathlib import Path

from stacks.reward_functions.bundling import LocalPipBundling


def test_pip_command_targets_lambda_arm64_python313(tmp_path: Path) -> None:
    command = LocalPipBundling(tmp_path, python="/venv/bin/python").pip_command("/out")
    assert command[:4] == ["/venv/bin/python", "-m", "pip", "install"]
    joined = " ".join(command)
    assert "--platform manylinux2014_aarch64" in joined
    assert "--implementation cp" in joined and "--python-version 3.13" in joined
    assert "--only-binary=:all:" in command and "--no-compile" in command
    assert joined.endswith(f"--target /out -r {tmp_path.resolve() / 'requirements.txt'}")


def test_copies_packages_but_not_tests_or_caches(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for rel in ("pkg/__init__.py", "pkg/mod.py", "pkg/__pycache__/mod.cpython-313.pyc", "tests/test_x.py",
                "pkg/tests/test_y.py", ".pytest_cache/x"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text("x")
    out = tmp_path / "out"
    # No requirements.txt in src: only the copy runs.
    assert LocalPipBundling(src).try_bundle(str(out)) is True
    copied = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert copied == ["pkg/__init__.py", "pkg/mod.py"]
