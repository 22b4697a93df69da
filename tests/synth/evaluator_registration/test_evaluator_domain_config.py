"""``evaluator_registration.studio_domain_id``: validated at synth, passed to every evaluator's
registration (its ``@domain:<id>`` keyword), absent from templates that do not set it.

This is the half that synthesizes; the rest is tests/stacks/evaluator_registration/test_evaluator_domain_config.py.
"""

from __future__ import annotations

import copy
from typing import Any

from evaluator_registration import properties as props
from stacks.config import parse_environments
from tests.cdk_context import CDK_CONTEXT


def registration_properties(registration: dict[str, Any]) -> list[dict[str, Any]]:
    from aws_cdk import App

    from stacks.app_builder import build_app

    env = copy.deepcopy(CDK_CONTEXT["environments"]["prod"]) | {"evaluator_registration": registration}
    flags = {k: v for k, v in CDK_CONTEXT.items() if k.startswith("@")}
    app = App(context={**flags, "aws:cdk:bundling-stacks": []})
    (stack,) = build_app(app, list(parse_environments({"prod": env}).values())).values()
    template = app.synth().get_stack_by_name(stack.stack_name).template
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == props.RESOURCE_TYPE]


def test_the_domain_goes_to_every_evaluator_and_only_when_set() -> None:
    with_domain = registration_properties({"studio_domain_id": "d-abc123def456"})
    assert with_domain and all(p[props.PROP_DOMAIN_ID] == "d-abc123def456" for p in with_domain)
    assert all(props.PROP_DOMAIN_ID not in p for p in registration_properties({}))
