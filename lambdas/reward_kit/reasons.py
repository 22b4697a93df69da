"""Failure reason codes of the Nova reward contract: stable snake_case strings that become
metric names (a failed sample's ``failure_<reason>`` Metric entry, the ``Failure_<reason>``
dashboard series). The contract (``reward_kit.contract``), the scorer and the graders report
them; ``stacks/monitoring`` charts them.
"""

from __future__ import annotations

# Failure reason codes: stable, they become metric names (Failure_<reason>).
NOT_AN_OBJECT = "not_an_object"
MISSING_ID = "missing_id"
INVALID_ID = "invalid_id"
MISSING_MESSAGES = "missing_messages"
INVALID_MESSAGES = "invalid_messages"
NO_ASSISTANT_MESSAGE = "no_assistant_message"
INVALID_CONTENT = "invalid_content"
EMPTY_RESPONSE = "empty_response"
MISSING_REFERENCE = "missing_reference"
RESPONSE_TOO_LONG = "response_too_long"
GRADER_ERROR = "grader_error"
GRADER_TIMEOUT = "grader_timeout"
# Extraction failures the deterministic graders report (named here for the dashboards).
NO_ANSWER = "no_answer"
MULTIPLE_ANSWERS = "multiple_answers"
NO_CODE = "no_code"  # the code grader's no_answer: no program in the final answer
# The code executor failed on one sample (it died, hung or answered nonsense; a hostile program
# can cause that). An executor that cannot run at all fails the invocation instead.
CODE_EXECUTOR_ERROR = "code_executor_error"
# Whole-event failure (the handler counts it; no sample outputs exist for it).
INVALID_EVENT = "invalid_event"

FAILURE_REASONS = (
    NOT_AN_OBJECT,
    MISSING_ID,
    INVALID_ID,
    MISSING_MESSAGES,
    INVALID_MESSAGES,
    NO_ASSISTANT_MESSAGE,
    INVALID_CONTENT,
    EMPTY_RESPONSE,
    MISSING_REFERENCE,
    RESPONSE_TOO_LONG,
    GRADER_ERROR,
    GRADER_TIMEOUT,
)


def failure_metric(reason: str) -> str:
    """Name of the diagnostic metric a failed sample carries in its metrics_list."""
    return f"failure_{reason}"
