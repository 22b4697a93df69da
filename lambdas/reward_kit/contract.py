"""The Nova RFT reward Lambda contract: parse the event, build the outputs. No grading here.

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

Output per sample (values already in the spec's range, rounded to 6 decimals)::

    {"id": ..., "aggregate_reward_score": 0.85,
     "metrics_list": [{"name": "accuracy", "value": 0.85, "type": "Reward"},
                      {"name": "failure_no_answer", "value": 1.0, "type": "Metric"}]}

Outputs never echo response or reference text.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from json import dumps as _dumps
from json.encoder import encode_basestring as _json_string_raw
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any, Mapping, Sequence

from reward_kit import names, settings

__all__ = [
    "ASSISTANT_ROLES",
    "DEFAULT_MAX_RESPONSE_CHARS",
    "EVENT_LIST_KEYS",
    "EventError",
    "FAILURE_REASONS",
    "OutputBuilder",
    "RESPONSE_LIMIT_BYTES",
    "fit_response",
    "ParsedSample",
    "max_response_chars_from_env",
    "parse_event",
    "parse_sample",
    "response_bytes",
    "response_failure",
    "response_size_bound",
    "runtime_escapes_non_ascii",
    "unwrap_event",
]

DEFAULT_MAX_RESPONSE_CHARS = settings.MAX_RESPONSE_CHARS.default
# Lambda fails a synchronous invocation whose response passes 6 MB; keep a margin below it.
LAMBDA_RESPONSE_MAX_BYTES = 6 * 1024 * 1024
RESPONSE_LIMIT_BYTES = LAMBDA_RESPONSE_MAX_BYTES - 64 * 1024
ASSISTANT_ROLES = frozenset({"assistant", "nova_assistant"})
USER_ROLE = "user"
# Exact spellings that need no case/whitespace folding to be ruled out (hot loop).
_OTHER_ROLES = frozenset({"user", "system", "tool"})
# An event may be an object holding the list of samples under one of these keys.
EVENT_LIST_KEYS = ("trajectories", "samples")
# The only block type whose text is graded (compared case-insensitively); untyped blocks with
# a "text" field count as text, as some AWS pages show them.
TEXT_BLOCK_TYPE = "text"

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


def failure_metric(reason: str) -> str:
    """Name of the diagnostic metric a failed sample carries in its metrics_list."""
    return f"failure_{reason}"


class OutputBuilder:
    """Builds contract outputs for one spec: fixed reward dimensions, fixed output range.

    Graders work on the canonical 0..1 scale; ``scale`` clamps, replaces NaN/inf with the
    minimum, maps linearly to [lo, hi] and rounds to 6 decimals.
    """

    __slots__ = ("dimensions", "lo", "hi", "_span", "_single")

    def __init__(self, dimensions: Sequence[str], value_range: Sequence[float] = (0.0, 1.0)) -> None:
        if not dimensions:
            raise ValueError("at least one reward dimension is required")
        lo, hi = float(value_range[0]), float(value_range[1])
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"invalid output range {list(value_range)!r}")
        self.dimensions = tuple(dimensions)
        self.lo, self.hi = lo, hi
        self._span = hi - lo
        self._single = len(self.dimensions) == 1

    def scale(self, canonical: Any) -> float:
        """Map a canonical 0..1 value to the output range; anything non-finite -> minimum."""
        if isinstance(canonical, float):
            value = canonical
        elif isinstance(canonical, (str, bytes, bool)) or canonical is None:
            return self.lo  # a grader bug, not a score: never parse text into a reward
        else:
            try:
                value = float(canonical)  # int, numpy scalars, Fraction ...
            except (TypeError, ValueError, OverflowError):
                return self.lo
        if not value > 0.0:  # also catches NaN
            return self.lo
        if value >= 1.0:  # also catches +inf
            return self.hi
        return min(self.hi, max(self.lo, round(self.lo + value * self._span, 6)))

    def graded(
        self,
        sample_id: str | int,
        score: Any,
        rewards: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Output for a graded sample. ``rewards`` outside the spec's dimensions are
        reported as diagnostics so the set of Reward dimensions stays stable."""
        scale = self.scale
        rewards = rewards or _EMPTY_METADATA
        metrics_list = []
        matched = 0
        for dimension in self.dimensions:
            if dimension in rewards:
                value = rewards[dimension]
                matched += 1
            else:
                # A single grader may report only `score`; a missing multi component earns nothing.
                value = score if self._single else 0.0
            metrics_list.append({"name": dimension, "value": scale(value), "type": "Reward"})
        if len(rewards) > matched:  # some rewards are not dimensions: the common case skips this
            for name, value in rewards.items():
                if name not in self.dimensions:
                    _append_diagnostic(metrics_list, name, value)
        if metrics:
            for name, value in metrics.items():
                _append_diagnostic(metrics_list, name, value)
        if reason:
            metrics_list.append({"name": failure_metric(reason), "value": 1.0, "type": "Metric"})
        return {"id": sample_id, "aggregate_reward_score": scale(score), "metrics_list": metrics_list}

    def failed(self, sample_id: str | int, reason: str) -> dict[str, Any]:
        """Output for a sample that could not be graded: minimum everywhere, plus the reason."""
        lo = self.lo
        metrics_list = [{"name": dimension, "value": lo, "type": "Reward"} for dimension in self.dimensions]
        metrics_list.append({"name": failure_metric(reason), "value": 1.0, "type": "Metric"})
        return {"id": sample_id, "aggregate_reward_score": lo, "metrics_list": metrics_list}


def _append_diagnostic(metrics_list: list[dict[str, Any]], name: Any, value: Any) -> None:
    # Diagnostics are not range-mapped, but must be finite numbers (NaN is not valid JSON).
    if type(value) is float and type(name) is str and (value == 0.0 or value == 1.0):
        metrics_list.append({"name": name, "value": value, "type": "Metric"})  # 0/1 flags: hot path
        return
    if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    value = float(value)
    if math.isfinite(value):
        metrics_list.append({"name": name, "value": round(value, 6), "type": "Metric"})


# --- responses that fit Lambda's limit ---------------------------------------------------------

# How the Lambda runtime serializes the handler's return value (awslambdaric's
# lambda_runtime_marshaller.Encoder, simplejson with its default ", " and ": " separators):
# UTF-8 with non-ASCII characters as they are (ensure_ascii=False) on these runtimes, \uXXXX
# escapes on every other one (a non-ASCII id then costs up to 3x its request bytes). The
# set is awslambdaric's own; a runtime missing from it is measured the escaped way, the
# longer of the two, so the bound stays safe.
_RAW_UTF8_RUNTIMES = frozenset(
    {"AWS_Lambda_python3.12", "AWS_Lambda_python3.13", "AWS_Lambda_python3.14", "AWS_Lambda_python3.15"}
)


def runtime_escapes_non_ascii(environ: Mapping[str, str] | None = None) -> bool:
    """True when the Lambda runtime writes non-ASCII characters of the response as \\uXXXX
    escapes (its JSON encoder's ensure_ascii), as awslambdaric decides from AWS_EXECUTION_ENV."""
    environ = os.environ if environ is None else environ
    return environ.get(names.ENV_LAMBDA_EXECUTION_ENV) not in _RAW_UTF8_RUNTIMES


def response_bytes(value: Any, escape_non_ascii: bool = True) -> int:
    """Bytes of ``value`` as the Lambda runtime sends it (see ``runtime_escapes_non_ascii``)."""
    if escape_non_ascii:
        return len(_dumps(value))
    return len(_dumps(value, ensure_ascii=False).encode("utf-8"))


def _string_bytes(text: str, escape_non_ascii: bool) -> int:
    if escape_non_ascii or text.isascii():
        return len(_json_string(text))
    return len(_json_string_raw(text).encode("utf-8"))


# Upper bounds, in bytes of the runtime's serialization (", " and ": " separators, strings as
# above). A float needs <= 24 chars.
_FLOAT_MAX = 24
# '{"id": ' + ', "aggregate_reward_score": ' + float + ', "metrics_list": [' + ']}' + ', '
_OUTPUT_FIXED = 7 + 28 + _FLOAT_MAX + 19 + 2 + 2
# '{"name": ' + ', "value": ' + float + ', "type": "Reward"}' + ', '
_ENTRY_FIXED = 9 + 11 + _FLOAT_MAX + 18 + 2


def response_size_bound(outputs: Sequence[Mapping[str, Any]], escape_non_ascii: bool = True) -> int:
    """An upper bound of the serialized size of ``outputs``: one cheap pass, no serialization."""
    entries = 0
    name_total = 0
    id_total = 0
    name_bytes: dict[str, int] = {}
    for output in outputs:
        sample_id = output["id"]
        id_total += _string_bytes(sample_id, escape_non_ascii) if type(sample_id) is str else len(str(sample_id))
        metrics_list = output.get("metrics_list", ())
        entries += len(metrics_list)
        for entry in metrics_list:
            try:
                name_total += name_bytes[entry["name"]]
            except KeyError:
                size = name_bytes[entry["name"]] = _string_bytes(entry["name"], escape_non_ascii)
                name_total += size
    return 2 + len(outputs) * _OUTPUT_FIXED + id_total + entries * _ENTRY_FIXED + name_total


def fit_response(
    outputs: list[dict[str, Any]], limit: int = RESPONSE_LIMIT_BYTES, escape_non_ascii: bool | None = None
) -> Counter[str]:
    """Trim ``outputs`` in place until their JSON fits in ``limit`` bytes; what was dropped.

    Sizes are those of the runtime's serialization (``escape_non_ascii``: None reads it from
    the environment, ``runtime_escapes_non_ascii``). ``Metric`` diagnostics go first, then the
    per-dimension ``Reward`` entries (``metrics_list`` is optional in the contract), output by
    output in input order; an id or an aggregate score is never dropped. Returns a Counter of
    dropped entries by type (empty when nothing was). The usual batch costs one cheap pass
    (``response_size_bound``).
    """
    dropped: Counter[str] = Counter()
    if escape_non_ascii is None:
        escape_non_ascii = runtime_escapes_non_ascii()
    if response_size_bound(outputs, escape_non_ascii) <= limit:
        return dropped
    sizes = [response_bytes(output, escape_non_ascii) for output in outputs]
    total = 2 + sum(sizes) + 2 * max(0, len(outputs) - 1)
    for kind in ("Metric", "Reward"):
        for index, output in enumerate(outputs):
            if total <= limit:
                return dropped
            metrics_list = output.get("metrics_list")
            if not metrics_list:
                continue
            kept = [entry for entry in metrics_list if entry.get("type") != kind]
            removed = len(metrics_list) - len(kept)
            if not removed:
                continue
            dropped[kind] += removed
            if kept:
                output["metrics_list"] = kept
            else:
                del output["metrics_list"]
            size = response_bytes(output, escape_non_ascii)
            total += size - sizes[index]
            sizes[index] = size
    return dropped
