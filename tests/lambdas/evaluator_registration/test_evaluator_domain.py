"""The ``@domain:<Studio domain id>`` search keyword (the SageMaker SDK sets it since mid-2026;
its change note: assets without it are hidden in Studio), from config to the wire and the handler."""

from __future__ import annotations

from typing import Any

import pytest

from evaluator_registration import ai_registry as wire
from evaluator_registration import handler
from evaluator_registration import properties as props
from tests.lambdas.evaluator_registration.test_evaluator_registration import (  # noqa: F401  (fixtures)
    HUB,
    _server,
    create,
    event,
    properties,
    sagemaker,
)
from tests.lambdas.evaluator_registration.test_evaluator_wire import EVALUATOR, MODEL, constraint_errors
from tests.lambdas.fake_sagemaker import FakeSageMaker

DOMAIN = "d-abc123def456"


def test_the_keyword_is_added_only_with_a_domain() -> None:
    assert wire.search_keywords(EVALUATOR) == list(wire.SEARCH_KEYWORDS)
    with_domain = wire.Evaluator(EVALUATOR.name, EVALUATOR.description, EVALUATOR.lambda_arn, domain_id=DOMAIN)
    request = wire.import_evaluator(HUB, with_domain, wire.FIRST_VERSION)
    assert request.params["HubContentSearchKeywords"] == [*wire.SEARCH_KEYWORDS, f"@domain:{DOMAIN}"]
    shape = MODEL.operation_model("ImportHubContent").input_shape
    assert constraint_errors(request.params, shape, "ImportHubContent") == []


def test_the_domain_id_pattern_is_the_service_models() -> None:
    assert wire.DOMAIN_ID_PATTERN == MODEL.shape_for("DomainId").metadata["pattern"]


def with_domain(domain: Any = DOMAIN) -> dict[str, Any]:
    return {**properties(), props.PROP_DOMAIN_ID: domain}


def test_create_with_a_domain_registers_the_keyword(sagemaker: FakeSageMaker) -> None:  # noqa: F811
    handler.on_event(event("Create", with_domain()), None)
    (imported,) = sagemaker.params("ImportHubContent")
    assert f"@domain:{DOMAIN}" in imported["HubContentSearchKeywords"]


def test_setting_a_domain_later_registers_the_next_version(sagemaker: FakeSageMaker) -> None:  # noqa: F811
    created = create(sagemaker)
    handler.on_event(event("Update", with_domain(), properties(), created["PhysicalResourceId"]), None)
    (imported,) = sagemaker.params("ImportHubContent")
    assert imported["HubContentVersion"] == "2.0.0"
    assert imported["HubContentSearchKeywords"][-1] == f"@domain:{DOMAIN}"
    sagemaker.requests.clear()
    # Unchanged afterwards: one read, nothing imported.
    handler.on_event(event("Update", with_domain(), with_domain(), created["PhysicalResourceId"]), None)
    assert sagemaker.operations() == ["DescribeHubContent"]


@pytest.mark.parametrize("bad", ["", "D-ABC", "domain-1", 7])
def test_a_bad_domain_id_fails_the_resource_with_a_message(sagemaker: FakeSageMaker, bad: Any) -> None:  # noqa: F811
    with pytest.raises(Exception, match=props.PROP_DOMAIN_ID):
        handler.on_event(event("Create", with_domain(bad)), None)
    assert "ImportHubContent" not in sagemaker.operations()
