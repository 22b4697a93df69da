"""``evaluator_registration.studio_domain_id``: validated at synth, passed to every evaluator's
registration (its ``@domain:<id>`` keyword), absent from templates that do not set it.

Its synthesized half is tests/synth/evaluator_registration/test_evaluator_domain_config.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stacks.config import ConfigError, parse_environments
from tests.cdk_context import CDK_CONTEXT


@pytest.mark.parametrize("domain", ["D-ABC", "abc123", "", 5])
def test_a_bad_domain_id_is_a_one_line_error(domain: Any) -> None:
    env = copy.deepcopy(CDK_CONTEXT["environments"]["prod"]) | {"evaluator_registration": {"studio_domain_id": domain}}
    with pytest.raises(ConfigError) as info:
        parse_environments({"prod": env})
    assert str(info.value).startswith("environments.prod.evaluator_registration.studio_domain_id: must be a SageMaker "
                                      "AI Studio domain id like 'd-abc123def456'")
