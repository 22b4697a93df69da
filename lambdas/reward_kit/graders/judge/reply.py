"""The judge's reply: strict parsing into scores, and the reasons a sample gets when there
is no usable reply.

Pure and standard library only (the CDK app reads the failure reasons for the dashboard).
The judge must reply with exactly one JSON object: ``{"score": <int 0..max_score>, "reason":
"..."}`` or, with criteria, ``{"scores": {<criterion>: <int>, ...}, "reason": ...}``; anything
else is ``judge_unparseable``.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from reward_kit.extraction import loads_strict

__all__ = ["JUDGE_ERROR", "JUDGE_TIMEOUT", "JUDGE_UNPARSEABLE", "parse_reply", "reply_text"]

# Failure reasons (minimum score, never an exception).
JUDGE_ERROR = "judge_error"  # the call failed after its retries, or a configuration error
JUDGE_UNPARSEABLE = "judge_unparseable"  # the reply is not exactly the requested object
JUDGE_TIMEOUT = "judge_timeout"  # the deadline came first (reward_kit.deadline)

_FENCE = re.compile(r"\A```[A-Za-z]*[ \t]*\n(.*)\n[ \t]*```\Z", re.DOTALL)


def _valid_score(value: Any, max_score: int) -> float | None:
    # Integers only, as the prompt asks: "7", true, 7.5, 7.0, NaN or 11/10 are not scores.
    if type(value) is not int:
        return None
    if not 0 <= value <= max_score:
        return None
    return float(value)


def reply_text(response: Any) -> str | None:
    """The text blocks of a Converse response joined (reasoning blocks ignored), or None."""
    try:
        content = response["output"]["message"]["content"]
    except (KeyError, TypeError):
        return None
    if not isinstance(content, list):
        return None
    texts = [block["text"] for block in content if isinstance(block, dict) and isinstance(block.get("text"), str)]
    return "".join(texts) if texts else None


def parse_reply(text: Any, max_score: int, criteria: Mapping[str, Any] | None = None) -> dict[str, float] | None:
    """Raw scores from the judge's reply, or None when it is not exactly the requested object.

    Without criteria: ``{"score": s}``; with criteria: ``{<criterion>: s, ...}``; each s in
    0..max_score on the judge's scale.
    """
    if not isinstance(text, str):
        return None
    text = text.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    if not text.startswith("{"):
        return None
    # Exactly one object: a second object or trailing prose ("Extra data"), duplicate keys and
    # NaN/Infinity are all unparseable.
    ok, reply = loads_strict(text)
    if not ok or not isinstance(reply, dict):
        return None
    expected = "scores" if criteria else "score"
    if expected not in reply:
        return None
    # A second score-like key ("overall_score", "score" next to "scores") could disagree.
    if any("score" in key.lower() and key != expected for key in reply):
        return None
    if not criteria:
        score = _valid_score(reply["score"], max_score)
        return None if score is None else {"score": score}
    scores = reply["scores"]
    if not isinstance(scores, dict) or set(scores) != set(criteria):
        return None
    parsed: dict[str, float] = {}
    for name in criteria:
        score = _valid_score(scores[name], max_score)
        if score is None:
            return None
        parsed[name] = score
    return parsed
