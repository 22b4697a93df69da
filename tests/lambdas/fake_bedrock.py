"""pytest fixtures around the fake Bedrock Runtime of ``tools.fake_bedrock`` (one server per
session, reset for every test, boto3 pointed at it)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from reward_kit import names
from tools.fake_bedrock import HANG_SECONDS, Error, FakeBedrock, Reply, converse_body

__all__ = ["HANG_SECONDS", "MODEL_ID", "Error", "FakeBedrock", "Reply", "converse_body", "bedrock", "judge_logs"]

MODEL_ID = "us.amazon.nova-pro-v1:0"  # an inference profile id: ':' must survive URL encoding


@pytest.fixture(scope="session")
def _bedrock_server():
    # One server per session: every test then reuses the judge's cached boto3 client (creating
    # one loads the service model, ~0.3 s). Stopped at the end of the session.
    from reward_kit.graders import judge

    fake = FakeBedrock().start()
    try:
        yield fake
    finally:
        fake.stop()
        judge.reset_clients()


@pytest.fixture
def bedrock(_bedrock_server, monkeypatch):
    """The fake Bedrock, reset, with boto3 pointed at it (dummy credentials, no retry sleeps)."""
    from reward_kit.graders import judge
    from reward_kit.graders.judge import client as judge_client

    fake = _bedrock_server
    fake.reset()
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION",
                names.ENV_JUDGE_MAX_CONCURRENCY, names.ENV_JUDGE_CACHE_ENTRIES, names.ENV_LOG_SAMPLE_TEXT):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
    monkeypatch.setenv(names.ENV_JUDGE_MODEL_ID, MODEL_ID)
    # The judge's real backoff (up to seconds for throttling) is not what these tests check.
    monkeypatch.setattr(judge_client, "RETRY_BASE_SECONDS", 0.0)
    judge.reset_logged_errors()
    try:
        yield fake
    finally:
        fake.reset()
        judge.reset_logged_errors()


class RecordList(logging.Handler):
    """Every record the judge logs, as dicts (message + extra fields), whatever the config."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append({**record.__dict__, "message": record.getMessage()})


@pytest.fixture
def judge_logs():
    handler = RecordList()
    judge_logger = logging.getLogger("reward_kit.graders.judge")
    judge_logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        judge_logger.removeHandler(handler)
