"""Issue 15, without a synth: name affixes, command-line name overrides, production environments
that need an account and region, and the one-line warning for environments without an account.

Versions, redeployable stacks and recipe fields in synthesized templates: tests/synth/test_safe_changes.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import (
    ConfigError,
    parse_environments,
    select_environments,
    unpinned_environment_warning,
    with_name_overrides,
)
from tests.stacks.config.test_config import base, error


@pytest.mark.parametrize("value", ["Team", "-x", "a" * 17, "a_b", 3])
def test_bad_name_affixes(value: Any) -> None:
    raw = base()
    raw["dev"]["name_suffix"] = value
    assert error(raw).startswith("environments.dev.name_suffix: must be 1-16 characters of [a-z0-9-]")


def test_name_overrides_from_the_command_line_apply_to_the_selected_environment() -> None:
    raw = base()
    overridden = with_name_overrides(raw, "dev", {"name_suffix": "alice", "name_prefix": None})
    env = select_environments(parse_environments(overridden), "dev")[0]
    assert env.function("sentiment").function_name == "SageMaker-reward-sentiment-dev-alice"
    assert raw["dev"].get("name_suffix") is None  # not mutated
    assert with_name_overrides(raw, None, {"name_suffix": None}) is raw
    with pytest.raises(ConfigError, match=r"^name_suffix: applies to one environment: select it with -c env=<name>"):
        with_name_overrides(raw, None, {"name_suffix": "alice"})


@pytest.mark.parametrize(("changes", "message"), [
    ({"production": True}, "environments.dev.account: required when production is true"),
    ({"production": True, "account": "111122223333"}, "environments.dev.region: required when production is true"),
    ({"production": "yes"}, "environments.dev.production: must be true or false"),
])
def test_production_requires_account_and_region(changes: dict[str, Any], message: str) -> None:
    raw = base()
    raw["dev"].update(changes)
    assert error(raw).startswith(message)


def test_environments_without_an_account_are_warned_about_in_one_line() -> None:
    envs = list(parse_environments(base() | {"prod": base()["dev"] | {
        "production": True, "account": "111122223333", "region": "us-east-1"}}).values())
    warning = unpinned_environment_warning(envs)
    assert warning is not None and "\n" not in warning
    assert "['dev']" in warning and "'prod'" not in warning
    assert unpinned_environment_warning(envs[1:]) is None
