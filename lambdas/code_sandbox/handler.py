"""Placeholder for the code executor's entry point (issue 18, runtime half): replaced at merge."""

from typing import Any


def handler(event: Any, context: Any) -> Any:
    raise NotImplementedError
