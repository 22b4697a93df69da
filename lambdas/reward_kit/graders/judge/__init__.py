"""``judge`` grader (RLAIF): a Bedrock model scores the response against a rubric.

Spec keys (validated by ``spec.validate``): ``rubric`` (required), ``criteria``
({name: description} or {name: {"description", "weight"}}), ``max_score`` (default 10),
``include_reference`` (default true), ``include_prompt`` (default true), ``max_tokens``
(512), ``temperature`` (0), ``max_response_chars`` (20000: the response, the reference and
the prompt are each truncated to it). The model id is not in the spec: it comes from
``JUDGE_MODEL_ID`` (the CDK stack sets it and scopes ``bedrock:InvokeModel`` to it).

Prompt design (prompt injection and reward hacking):

- The rubric and the criteria (trusted, from the spec) go in the **system** prompt; the
  user's prompt (with ``include_prompt``), the reference and the response (all untrusted)
  go in the user turn, each inside its own tags (``<user_prompt>``, ``<reference_answer>``,
  ``<candidate_response>``), and the system prompt says that tagged text is data, never
  instructions. The prompt is the last user message before the response (the Scorer asks
  the contract layer for it because the judge's traits say ``wants_prompt``).
- Anything in the untrusted text that looks like one of those tags (``</candidate_response>``,
  ``<reference_answer ...``, ``</user_prompt>``, any case or spacing, and lookalikes: fullwidth
  or small-form ``<``, any character that NFKC or its Unicode name makes a less-than sign,
  slash or dash, HTML character references such as ``&#60;``, zero-width or soft-hyphen
  characters inside, Cyrillic/Greek letters, any non-alphanumeric separator for ``_``) has
  its ``<`` replaced by ``&lt;`` (the ``&`` of a reference by ``&amp;``), so no block can be
  closed early to speak as the operator. Detection runs on a normalized view (families,
  references decoded, NFKD, format and combining characters dropped, casefolded, confusables
  folded); the judge sees the original text, since NFKC would change meaning ("x²" -> "x2").
- The judge must reply with exactly one JSON object: ``{"score": <int 0..max_score>,
  "reason": "..."}`` or, with criteria, ``{"scores": {<criterion>: <int>, ...}, "reason": ...}``.
  Parsing is strict (one object, optionally in a code fence, nothing else; no duplicate
  keys; no second "...score..." key; JSON integers only, never 7.5, 7.0 or a string parsed
  into a number; within 0..max_score) and anything else is ``judge_unparseable`` with the
  minimum score.

Scores: ``score / max_score`` (with criteria: the weighted mean; each criterion is also
reported as the Metric ``criterion_<name>`` in 0..1). The judge's ``reason`` text is never
put into outputs or logs; botocore's and urllib3's loggers drop everything below WARNING
(their DEBUG lines carry request and response bodies), whatever level is configured.

Failures (minimum score, never an exception): ``judge_error`` (the call failed after its
retries, or a configuration error such as AccessDenied, which is logged once per error code
at ERROR), ``judge_unparseable``, ``judge_timeout`` (the deadline came first; see
``reward_kit.deadline``).

Modules: ``spec`` (the spec's keys; pure), ``prompt`` (the request, tag neutralization;
pure), ``reply`` (parsing, failure reasons; pure), ``config`` (the model, concurrency and
caching from the environment), ``client`` (the Bedrock client, retries, the deadline),
``grader`` (de-duplication, the result cache, prompt-caching groups, the ``Judge``). The CDK app imports only the pure modules; this
package loads the others when a name from them is first used.

Statistics for the runtime's EMF metrics go to the batch's ``JudgeStats``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reward_kit.graders.judge.client import (
        CONNECT_TIMEOUT_SECONDS,
        READ_TIMEOUT_SECONDS,
        TOTAL_MAX_ATTEMPTS,
        prepare_client,
        reset_logged_errors,
        silence_sdk_debug_logs,
    )
    from reward_kit.graders.judge.config import (
        DEFAULT_MAX_CONCURRENCY,
        JudgeConfigError,
        cache_entries,
        max_concurrency,
        model_id_from_env,
        prompt_cache_support,
    )
    from reward_kit.graders.judge.grader import (
        Judge,
        build,
        reset_clients,
    )
    from reward_kit.graders.judge.prompt import (
        PROMPT_TAG,
        REFERENCE_TAG,
        RESPONSE_TAG,
        assemble_request,
        build_request,
        lookalike_family,
        max_request_chars,
        neutralize,
        response_text,
        shared_text,
        system_prompt,
        user_text,
    )
    from reward_kit.graders.judge.reply import (
        JUDGE_ERROR,
        JUDGE_TIMEOUT,
        JUDGE_UNPARSEABLE,
        parse_reply,
        reply_text,
    )
    from reward_kit.graders.judge.spec import validate

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "DEFAULT_MAX_CONCURRENCY",
    "JUDGE_ERROR",
    "JUDGE_TIMEOUT",
    "JUDGE_UNPARSEABLE",
    "Judge",
    "JudgeConfigError",
    "PROMPT_TAG",
    "READ_TIMEOUT_SECONDS",
    "REFERENCE_TAG",
    "RESPONSE_TAG",
    "TOTAL_MAX_ATTEMPTS",
    "assemble_request",
    "build",
    "build_request",
    "cache_entries",
    "lookalike_family",
    "max_concurrency",
    "max_request_chars",
    "model_id_from_env",
    "neutralize",
    "parse_reply",
    "prepare_client",
    "prompt_cache_support",
    "reply_text",
    "reset_clients",
    "reset_logged_errors",
    "response_text",
    "shared_text",
    "silence_sdk_debug_logs",
    "system_prompt",
    "user_text",
    "validate",
]

# Where each public name lives: importing one submodule (the CDK app imports ``prompt``) does
# not load the others.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "client": (
        "CONNECT_TIMEOUT_SECONDS", "READ_TIMEOUT_SECONDS", "TOTAL_MAX_ATTEMPTS", "prepare_client",
        "reset_logged_errors", "silence_sdk_debug_logs",
    ),
    "config": (
        "DEFAULT_MAX_CONCURRENCY", "JudgeConfigError", "cache_entries", "max_concurrency",
        "model_id_from_env", "prompt_cache_support",
    ),
    "grader": (
        "Judge", "build", "reset_clients",
    ),
    "prompt": (
        "PROMPT_TAG", "REFERENCE_TAG", "RESPONSE_TAG", "assemble_request", "build_request",
        "lookalike_family", "max_request_chars", "neutralize", "response_text", "shared_text",
        "system_prompt", "user_text",
    ),
    "spec": ("validate",),
    "reply": (
        "JUDGE_ERROR", "JUDGE_TIMEOUT", "JUDGE_UNPARSEABLE", "parse_reply", "reply_text",
    ),
}
_HOMES = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
