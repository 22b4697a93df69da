"""What the judge did during one invocation: calls, latency, retries, throttles, errors by
code, tokens (uncached input, cache reads and writes, output), de-duplicated samples, and the
shape of its requests (groups, prefix characters) that the dry run reports for the cost model. One ``JudgeStats`` per scored batch (the Scorer's
``Batch`` holds it; ``BatchResult.judge`` hands it to the runtime, which emits it as EMF).

Thread-safe: judge calls of one batch run in parallel. Calls abandoned at the deadline may
still record into it after the runtime has emitted it; those late records are lost, by design.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any, Mapping

from reward_kit import names

__all__ = ["JudgeStats"]

_CODE_RE = re.compile(r"[^A-Za-z0-9_]")
MAX_CODE_CHARS = 64


def _clean_code(code: str) -> str:
    # Error codes become metric names: keep them short and plain.
    return _CODE_RE.sub("_", code)[:MAX_CODE_CHARS] or "Unknown"


def _token_count(usage: Any, key: str) -> int:
    value = usage.get(key) if isinstance(usage, Mapping) else None
    return value if type(value) is int and value >= 0 else 0


class JudgeStats:
    """Counters for one batch; ``metric_counts()`` and ``call_seconds`` are what gets emitted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.retries = 0
        self.throttles = 0
        self.abandoned = 0
        self.input_tokens = 0  # Converse usage.inputTokens: the uncached part of the input
        self.output_tokens = 0
        self.cache_read_tokens = 0
        self.cache_write_tokens = 0
        # Requests sent (not metrics): distinct (prompt, reference) groups among them, and their
        # characters: all, and the cacheable prefix (system prompt + prompt and reference).
        self.requests = 0
        self.groups = 0
        self.request_chars = 0
        self.prefix_chars = 0
        self.deduplicated = 0
        self.cache_hits = 0
        self.errors: Counter[str] = Counter()
        self.call_seconds: list[float] = []

    def record_call(
        self,
        seconds: float,
        *,
        attempts: int,
        throttles: int,
        usage: Any = None,
        error_code: str | None = None,
        abandoned: bool = False,
    ) -> None:
        """One judge call (all its attempts): ``usage`` is the Converse ``usage`` object."""
        with self._lock:
            self.calls += 1
            self.retries += max(0, attempts - 1)
            self.throttles += throttles
            self.call_seconds.append(seconds)
            self.input_tokens += _token_count(usage, "inputTokens")
            self.output_tokens += _token_count(usage, "outputTokens")
            self.cache_read_tokens += _token_count(usage, "cacheReadInputTokens")
            self.cache_write_tokens += _token_count(usage, "cacheWriteInputTokens")
            if abandoned:
                self.abandoned += 1
            elif error_code is not None:
                self.errors[_clean_code(error_code)] += 1

    def record_request(self, *, new_group: bool, system_chars: int, shared_chars: int, chars: int) -> None:
        """One distinct request about to be sent (first of its group or not) and its sizes."""
        with self._lock:
            self.requests += 1
            self.groups += new_group
            self.request_chars += chars
            self.prefix_chars += system_chars + shared_chars

    @property
    def total_input_tokens(self) -> int:
        """Every input token of the calls: uncached, read from and written to the cache
        (Bedrock's inputTokens counts only the first)."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def group_size(self) -> float | None:
        """Requests per (prompt, reference) group, as sent; None before any."""
        return self.requests / self.groups if self.groups else None

    @property
    def prefix_share(self) -> float | None:
        """Share of the requests' characters that is the cacheable prefix; None before any."""
        return self.prefix_chars / self.request_chars if self.request_chars else None

    def record_deduplicated(self) -> None:
        with self._lock:
            self.deduplicated += 1

    def record_cache_hit(self) -> None:
        with self._lock:
            self.cache_hits += 1

    def merge(self, other: JudgeStats) -> None:
        """Add ``other``'s counts to these (the dry run sums its batches)."""
        with other._lock:
            counts = (other.calls, other.retries, other.throttles, other.abandoned, other.input_tokens,
                      other.output_tokens, other.deduplicated, other.cache_hits)
            shape = (other.cache_read_tokens, other.cache_write_tokens, other.requests, other.groups,
                     other.request_chars, other.prefix_chars)
            errors, seconds = Counter(other.errors), list(other.call_seconds)
        with self._lock:
            self.calls += counts[0]
            self.retries += counts[1]
            self.throttles += counts[2]
            self.abandoned += counts[3]
            self.input_tokens += counts[4]
            self.output_tokens += counts[5]
            self.deduplicated += counts[6]
            self.cache_hits += counts[7]
            self.cache_read_tokens += shape[0]
            self.cache_write_tokens += shape[1]
            self.requests += shape[2]
            self.groups += shape[3]
            self.request_chars += shape[4]
            self.prefix_chars += shape[5]
            self.errors.update(errors)
            self.call_seconds.extend(seconds)

    def metric_counts(self) -> dict[str, int]:
        """Metric name -> count for this batch (zeros included, so dashboards see 0, not gaps)."""
        with self._lock:
            counts = {
                names.METRIC_JUDGE_CALLS: self.calls,
                names.METRIC_JUDGE_RETRIES: self.retries,
                names.METRIC_JUDGE_THROTTLES: self.throttles,
                names.METRIC_JUDGE_ABANDONED: self.abandoned,
                names.METRIC_JUDGE_INPUT_TOKENS: self.input_tokens,
                names.METRIC_JUDGE_OUTPUT_TOKENS: self.output_tokens,
                names.METRIC_JUDGE_CACHE_READ_TOKENS: self.cache_read_tokens,
                names.METRIC_JUDGE_CACHE_WRITE_TOKENS: self.cache_write_tokens,
                names.METRIC_JUDGE_DEDUPLICATED: self.deduplicated,
                names.METRIC_JUDGE_CACHE_HITS: self.cache_hits,
            }
            for code, count in sorted(self.errors.items()):
                counts[names.judge_error_metric_name(code)] = count
        return counts

    def latency_values(self) -> list[float]:
        with self._lock:
            return list(self.call_seconds)
