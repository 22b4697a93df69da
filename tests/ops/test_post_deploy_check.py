"""Issue 22: the pipeline's post-deploy check. In the synthesized two-account pipeline, each
stage runs it after its deploy, through a role of the environment's account that only the
pipeline may assume; the check itself (ops/post_deploy.py) passes on a healthy deploy and
fails on a function that breaks the contract on its example data, or scores differently
from the local dry run (against the Lambda/CloudFormation fake, real handlers in-process).

Its synthesized half is tests/synth/test_post_deploy_check.py.
"""

from __future__ import annotations

from stacks.pipeline.post_deploy import check_role_name
from tests.stacks.pipeline.test_pipeline import DEV_ACCOUNT, PROD_ACCOUNT  # noqa: F401
from tests.synth.pipeline.test_pipeline import PipelineSynth, pipeline_resource, pipeline_synth  # noqa: F401


def test_long_stack_names_give_valid_role_names() -> None:
    long = "abcdefghijklmnop-NovaRftRewards-staging-eu-abcdefghijklmnop"
    assert len(check_role_name(long)) <= 64 and check_role_name(long).endswith("-post-deploy-check")
    assert check_role_name(long) != check_role_name(long.replace("a", "b", 1))
