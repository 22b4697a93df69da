"""The post-deploy check's role name (stacks/pipeline/post_deploy.py), without a synth.

The check in the synthesized pipeline, and the check itself against the Lambda/CloudFormation
fake, are in tests/synth/test_post_deploy_check.py.
"""

from __future__ import annotations

from stacks.pipeline.post_deploy import check_role_name


def test_long_stack_names_give_valid_role_names() -> None:
    long = "abcdefghijklmnop-NovaRftRewards-staging-eu-abcdefghijklmnop"
    assert len(check_role_name(long)) <= 64 and check_role_name(long).endswith("-post-deploy-check")
    assert check_role_name(long) != check_role_name(long.replace("a", "b", 1))
