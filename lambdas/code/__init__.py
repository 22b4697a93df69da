"""The ``code`` function kind: reward functions that run generated programs against tests.

``handler.py`` is the Lambda entry point, ``grader.py`` the ``code`` grader kind and
``sandbox.py`` the in-Lambda sandbox (one fresh, limited child process per test). Its asset
holds ``reward_kit`` and this package only; the function around it has no network route and
a role that can only write its logs (``stacks/code_sandbox``).

This package is named ``code`` (the function kind), which shadows the standard library's
``code`` module wherever ``lambdas/`` leads ``sys.path`` (Lambda's /var/task, the tests).
``pdb`` imports that module, so its names are served from the real one on first use.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    import importlib.util
    import sys
    import sysconfig
    from pathlib import Path

    stdlib = sys.modules.get("_stdlib_code")
    if stdlib is None:
        spec = importlib.util.spec_from_file_location("_stdlib_code", Path(sysconfig.get_path("stdlib")) / "code.py")
        if spec is None or spec.loader is None:
            raise AttributeError(name)
        stdlib = importlib.util.module_from_spec(spec)
        sys.modules["_stdlib_code"] = stdlib
        spec.loader.exec_module(stdlib)
    try:
        return getattr(stdlib, name)
    except AttributeError:
        raise AttributeError(f"module 'code' has no attribute {name!r}") from None
