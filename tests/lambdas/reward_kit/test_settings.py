"""reward_kit.settings: every runtime setting's variable, default and limits, read and written in one place."""

from __future__ import annotations

import pytest

from reward_kit import names, settings
from reward_kit.settings import RuntimeSettings


def test_defaults_from_an_empty_environment() -> None:
    got = RuntimeSettings.from_env({})
    assert got == RuntimeSettings()
    assert (got.service_name, got.metrics_namespace, got.max_response_chars) == ("reward", names.METRIC_NAMESPACE, 100_000)
    assert got.judge_model_id is None and got.log_sample_text is False


def test_to_env_and_from_env_round_trip() -> None:
    written = RuntimeSettings(
        reward_spec='{"grader":"math"}', function_name="gsm8k", service_name="SageMaker-reward-gsm8k-dev",
        log_sample_text=True, max_response_chars=5000, judge_model_id="amazon.nova-pro-v1:0", judge_max_concurrency=8,
    )
    environ = written.to_env()
    assert environ[names.ENV_JUDGE_MAX_CONCURRENCY] == "8" and environ[names.ENV_LOG_SAMPLE_TEXT] == "true"
    assert RuntimeSettings.from_env(environ) == written


def test_defaults_are_not_written() -> None:
    environ = RuntimeSettings(reward_spec="{}").to_env()
    assert names.ENV_MAX_RESPONSE_CHARS not in environ and names.ENV_JUDGE_MODEL_ID not in environ
    assert names.ENV_LOG_SAMPLE_TEXT not in environ


@pytest.mark.parametrize("text", ["0", "-1", "x", "65"])
def test_int_settings_reject_values_outside_their_limits(text: str) -> None:
    with pytest.raises(ValueError, match=rf"^JUDGE_MAX_CONCURRENCY: '{text}' is not an integer in 1\.\.64$"):
        settings.JUDGE_MAX_CONCURRENCY.read({names.ENV_JUDGE_MAX_CONCURRENCY: text})
    with pytest.raises(ValueError, match=r"^REWARD_MAX_RESPONSE_CHARS: .* is not a positive integer$"):
        RuntimeSettings.from_env({names.ENV_MAX_RESPONSE_CHARS: "0"})


def test_the_config_side_uses_the_same_limits() -> None:
    from stacks.config.judge import JudgeConfig

    assert JudgeConfig("amazon.nova-pro-v1:0").max_concurrency == settings.JUDGE_MAX_CONCURRENCY.default
