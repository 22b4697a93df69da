"""The Nova RFT reward Lambda contract, request side: parse the event into samples. No grading here.

Input: a JSON list of samples, or an object holding that list under ``trajectories`` or
``samples`` (AWS's gpt-oss sample events). Output: always a JSON list of outputs, also for an
object event, as AWS's gpt-oss sample reward Lambda answers its ``{"trajectories": [...]}``
events (its docstring: "Returns a JSON array"). Every variant seen in the AWS documentation
and samples is accepted:

- ``id``, or ``task_id`` when there is no ``id`` (AWS's notebooks send rows that way); the
  output's ``id`` carries that value;
- ``reference_answer`` under ``metadata`` (looked up first) or at the top level of the
  sample, as a dict, string, number or list (graders unwrap it: ``reward_kit.references``);
- message ``content`` as a string, a list of blocks, or a single block. Block types are
  decided here, once: a block typed ``text`` (or untyped with a ``text`` field) is graded;
  every other type (``reasoning``, ``thinking``, ``image``, ``tool_use``...) is ignored even
  when it carries a ``text`` field. Text blocks are joined with a newline;
- the response is the **last** message whose role is ``assistant`` or ``nova_assistant``
  (role compared after stripping whitespace and lower-casing), as AWS documents it, even
  if a user message follows it. User turns are never graded.
- the prompt (``ParsedSample.prompt``) is the text of the last ``user`` message before that
  response, with the same content rules. It is data for graders that ask for it (the judge
  shows it to the model); it is extracted only when ``with_prompt`` is true, and a missing or
  malformed user turn never fails a sample (the prompt is then None).

A broken sample never raises: it gets a failure reason code and, later, the minimum score
on every reward dimension, under its own id (or a deterministic placeholder built from its
position when the id is unusable, so it can never collide with another sample's id).

The outputs are built by ``reward_kit.outputs`` (``OutputBuilder``) and trimmed to Lambda's
response limit by ``reward_kit.response_limit``; the failure reason codes are
``reward_kit.reasons``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from reward_kit import settings
from reward_kit.reasons import (
    EMPTY_RESPONSE,
    INVALID_CONTENT,
    INVALID_ID,
    INVALID_MESSAGES,
    MISSING_ID,
    MISSING_MESSAGES,
    MISSING_REFERENCE,
    NOT_AN_OBJECT,
    NO_ASSISTANT_MESSAGE,
    RESPONSE_TOO_LONG,
)

__all__ = [
    "ASSISTANT_ROLES",
    "DEFAULT_MAX_RESPONSE_CHARS",
    "EVENT_LIST_KEYS",
    "EventError",
    "ParsedSample",
    "content_text",
    "max_response_chars_from_env",
    "parse_event",
    "parse_sample",
    "response_failure",
    "sample_reference",
    "unwrap_event",
]

DEFAULT_MAX_RESPONSE_CHARS = settings.MAX_RESPONSE_CHARS.default
ASSISTANT_ROLES = frozenset({"assistant", "nova_assistant"})
USER_ROLE = "user"
# Exact spellings that need no case/whitespace folding to be ruled out (hot loop).
_OTHER_ROLES = frozenset({"user", "system", "tool"})
# An event may be an object holding the list of samples under one of these keys.
EVENT_LIST_KEYS = ("trajectories", "samples")
# The only block type whose text is graded (compared case-insensitively); untyped blocks with
# a "text" field count as text, as some AWS pages show them.
TEXT_BLOCK_TYPE = "text"

# Samples with these failures carry a placeholder id built from their position.
_PLACEHOLDER_ID_FAILURES = frozenset({NOT_AN_OBJECT, MISSING_ID, INVALID_ID})


def max_response_chars_from_env() -> int:
    """``REWARD_MAX_RESPONSE_CHARS`` (default 100,000); anything but a positive integer is a
    configuration error, raised rather than silently grading everything or nothing."""
    return settings.MAX_RESPONSE_CHARS.read()


class EventError(ValueError):
    """The event as a whole is unusable (not a list): the invocation fails loudly."""


@dataclass(slots=True)
class ParsedSample:
    """One sample after the contract checks. ``failure`` is None when it can be graded."""

    position: int
    id: str | int
    response: str | None = None
    reference: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    failure: str | None = None
    # Text of the last user message before the response; None unless parsed with_prompt and
    # that message exists and has well-formed content. Never graded by deterministic graders.
    prompt: str | None = None


_EMPTY_METADATA: Mapping[str, Any] = {}


def parse_event(
    event: Any,
    max_response_chars: int = DEFAULT_MAX_RESPONSE_CHARS,
    *,
    with_prompt: bool = False,
    require_reference: bool = True,
) -> list[ParsedSample]:
    """Parse a whole event. Raises EventError only when ``event`` itself is neither a list
    nor an object holding one under ``trajectories``/``samples`` (see ``unwrap_event``).

    ``with_prompt``: also extract ``ParsedSample.prompt`` (only graders that read it need it).
    ``require_reference``: False for graders that need none (judge, regex): a sample without a
    reference answer is then gradable, with ``reference`` None, instead of ``missing_reference``.
    """
    event, _ = unwrap_event(event)
    parsed = [
        parse_sample(sample, position, max_response_chars, with_prompt, require_reference)
        for position, sample in enumerate(event)
    ]
    if any(sample.failure in _PLACEHOLDER_ID_FAILURES for sample in parsed):
        _keep_placeholders_unique(parsed)
    return parsed


def unwrap_event(event: Any) -> tuple[list[Any], str | None]:
    """(samples, key): the list itself, or the list under ``trajectories``/``samples`` of an
    object event (key names where it was; the response is a plain list either way).

    Raises EventError naming the expected shapes for anything else.
    """
    if isinstance(event, list):
        return event, None
    expected = (
        "reward event must be a JSON list of samples, or an object with that list under "
        f"one of {list(EVENT_LIST_KEYS)}"
    )
    if not isinstance(event, dict):
        raise EventError(f"{expected}; got {type(event).__name__}")
    present = [key for key in EVENT_LIST_KEYS if key in event]
    if len(present) == 1 and isinstance(event[present[0]], list):
        return event[present[0]], present[0]
    if len(present) > 1:
        raise EventError(f"{expected}, not several: got keys {present}")
    if present:
        raise EventError(f"{expected}; got {present[0]!r} of type {type(event[present[0]]).__name__}")
    raise EventError(f"{expected}; got an object with keys {sorted(map(str, event))[:10]}")


def _utf8_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _keep_placeholders_unique(parsed: list[ParsedSample]) -> None:
    # A trainer may match outputs to samples by id: a placeholder such as "missing-id-3" must
    # not repeat an id that another sample of the event really carries.
    taken = {sample.id for sample in parsed if sample.failure not in _PLACEHOLDER_ID_FAILURES}
    for sample in parsed:
        if sample.failure in _PLACEHOLDER_ID_FAILURES:
            base, suffix = sample.id, 0
            while sample.id in taken:
                suffix += 1
                sample.id = f"{base}-{suffix}"
            taken.add(sample.id)


def parse_sample(
    sample: Any,
    position: int,
    max_response_chars: int = DEFAULT_MAX_RESPONSE_CHARS,
    with_prompt: bool = False,
    require_reference: bool = True,
) -> ParsedSample:
    """Parse one sample; never raises. The first problem found becomes ``failure``.

    A placeholder id (``missing-id-<position>``, ``invalid-id-<position>``) is unique among
    placeholders; ``parse_event`` also keeps it apart from the event's real ids.
    """
    if not isinstance(sample, dict):
        return ParsedSample(position, f"missing-id-{position}", failure=NOT_AN_OBJECT)
    sample_id = _sample_id(sample, position)
    if isinstance(sample_id, ParsedSample):
        return sample_id

    metadata = sample.get("metadata")
    if not isinstance(metadata, dict):
        metadata = _EMPTY_METADATA
    parsed = ParsedSample(position, sample_id, metadata=metadata)

    messages = sample.get("messages")
    if messages is None:
        parsed.failure = MISSING_MESSAGES
        return parsed
    final_message, prompt_message = _final_and_prompt(messages)
    if final_message is _INVALID:
        parsed.failure = INVALID_MESSAGES
        return parsed
    if final_message is None:
        parsed.failure = NO_ASSISTANT_MESSAGE
        return parsed

    response = content_text(final_message.get("content"))
    parsed.failure = response_failure(response, max_response_chars)  # None content: invalid_content
    if parsed.failure is not None:
        return parsed
    parsed.response = response
    if with_prompt and prompt_message is not None:
        parsed.prompt = content_text(prompt_message.get("content"))  # None when malformed

    reference = sample_reference(sample, metadata)
    if reference is None:
        if require_reference:
            parsed.failure = MISSING_REFERENCE
        return parsed
    parsed.reference = reference
    return parsed


def sample_reference(sample: Mapping[str, Any], metadata: Any) -> Any:
    """A sample's reference answer: under ``metadata`` first (the documented place), then at the
    top level; None when neither holds one (None, blank text, an empty object or list)."""
    if isinstance(metadata, Mapping):
        reference = metadata.get("reference_answer")
        if not _is_missing(reference):
            return reference
    reference = sample.get("reference_answer")
    return None if _is_missing(reference) else reference


def _sample_id(sample: dict[str, Any], position: int) -> Any:
    """The sample's id, or the ParsedSample of a missing or invalid one."""
    sample_id = sample.get("id")
    if sample_id is None:
        # AWS's notebooks send task_id and no id; their sample Lambda echoes it as the id.
        sample_id = sample.get("task_id")
        if sample_id is None:
            if "id" in sample:  # "id": null
                return ParsedSample(position, f"invalid-id-{position}", failure=INVALID_ID)
            return ParsedSample(position, f"missing-id-{position}", failure=MISSING_ID)
    # bool is an int subclass; floats do not round-trip as ids; "" cannot be matched.
    if not ((isinstance(sample_id, str) and sample_id) or (isinstance(sample_id, int) and not isinstance(sample_id, bool))):
        return ParsedSample(position, f"invalid-id-{position}", failure=INVALID_ID)
    if type(sample_id) is str and not sample_id.isascii() and not _utf8_encodable(sample_id):
        # A lone surrogate ("\ud800" in the request): the runtime's UTF-8 response could not
        # carry it and the whole invocation would fail after the handler returned.
        return ParsedSample(position, f"invalid-id-{position}", failure=INVALID_ID)
    return sample_id


_INVALID: Any = object()  # _final_and_prompt: a message list that is not a list of objects


def _final_and_prompt(messages: Any) -> tuple[Any, Any]:
    """(the final assistant message, the last user message before it), None where there is
    none; (_INVALID, None) when ``messages`` is not a list of objects. Only references are
    kept: the prompt's text is built by the caller, and only with_prompt."""
    if not isinstance(messages, list):
        return _INVALID, None
    final_message = last_user = prompt_message = None
    for message in messages:
        if not isinstance(message, dict):
            return _INVALID, None
        role = _role(message.get("role"))
        if role == _ASSISTANT:
            final_message = message
            prompt_message = last_user
        elif role == USER_ROLE:
            last_user = message
    return final_message, prompt_message


_ASSISTANT = "assistant"  # _role's one word for every ASSISTANT_ROLES spelling


def _role(role: Any) -> Any:
    """USER_ROLE, _ASSISTANT, or the role as given (" Assistant ", "USER" and the like folded)."""
    if role in ASSISTANT_ROLES:
        return _ASSISTANT
    if role == USER_ROLE or type(role) is not str or role in _OTHER_ROLES:
        return role
    folded = role.strip().lower()
    if folded in ASSISTANT_ROLES:
        return _ASSISTANT
    return USER_ROLE if folded == USER_ROLE else role


def content_text(content: Any) -> str | None:
    """Text of a message's content, or None when the content has the wrong shape."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):  # a single block instead of a list of blocks
        content = [content]
    if not isinstance(content, list):
        return None
    texts = []
    for block in content:
        if isinstance(block, str):
            texts.append(block)
        elif isinstance(block, dict):
            kind = block.get("type")
            if kind is not None and not (isinstance(kind, str) and kind.strip().lower() == TEXT_BLOCK_TYPE):
                continue  # reasoning/thinking/image/tool blocks: never graded, even with "text"
            text = block.get("text")
            if isinstance(text, str):
                texts.append(text)
            elif text is not None or kind is not None:
                return None  # claims to be text but is not
            # else: an untyped block without text (image bytes, reasoningContent...): ignored
        else:
            return None
    return "\n".join(texts)


def response_failure(response: Any, max_response_chars: int = DEFAULT_MAX_RESPONSE_CHARS) -> str | None:
    """Reason code when a response cannot be graded, else None."""
    if not isinstance(response, str):
        return INVALID_CONTENT
    # Length first: no need to scan a 1 MB string for non-whitespace.
    if len(response) > max_response_chars:
        return RESPONSE_TOO_LONG
    if not response or response.isspace():
        return EMPTY_RESPONSE
    return None


def _is_missing(reference: Any) -> bool:
    if reference is None:
        return True
    if isinstance(reference, str):
        return not reference.strip()
    if isinstance(reference, (dict, list)):
        return not reference
    return False

