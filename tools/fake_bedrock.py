"""A fake Bedrock Runtime ``Converse`` endpoint on 127.0.0.1 for the judge tests and ``make bench``.

It speaks the REST-JSON wire format botocore expects (``POST /model/{modelId}/converse``;
errors as an HTTP status plus ``x-amzn-errortype``), records every request body, counts
requests in flight (to prove parallelism without timing assertions) and answers with
whatever ``responder(index, body)`` returns:

- a ``str``: the judge's reply text (wrapped in a normal Converse response whose token
  usage is ``usage``, (100, 10) unless set);
- ``Reply(text, input_tokens, output_tokens)``: the same with its own token usage;
- ``Error(status, code)``: an error response (429 ThrottlingException: throttled);
- a ``dict``: a raw response body.

``delay_seconds`` delays every answer; ``hang()`` makes every request wait until the test
ends (``reset``), like a judge that never answers. ``GET /count`` returns ``{"count": n}``,
the requests received so far, and ``GET /usage`` the summed token usage (for processes other
than the one running the fake).

Prompt caching, as the Amazon Bedrock user guide ("Prompt caching for faster model
inference") describes it: a ``cachePoint`` block ends a prefix (the system blocks, then the
message content blocks, in order). A checkpoint counts when its prefix holds at least n times
the model's minimum tokens (``PromptCache.min_tokens``; n: its place among the checkpoints
that count); for a model without caching support a checkpoint is a ValidationException (the
fake is strict there, so a test catches a checkpoint sent to such a model). The
longest counted prefix seen within the TTL (5 minutes, renewed on every hit) is read from the
cache (``cacheReadInputTokens``); the counted prefixes beyond it are written
(``cacheWriteInputTokens``); ``inputTokens`` is the rest, so a prefix read from the cache is
not charged as input. A request with a checkpoint (or any request, with ``count_tokens``)
has its tokens counted from its text at ``CHARS_PER_TOKEN`` characters per token instead of
the fixed ``usage``.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import unquote


@dataclass(frozen=True)
class Error:
    status: int
    code: str
    message: str = "fake error"


@dataclass(frozen=True)
class Reply:
    text: str
    input_tokens: int = 100
    output_tokens: int = 10


HANG_SECONDS = 3600.0  # "forever": released when the test ends
CHARS_PER_TOKEN = 4  # the fake's tokenizer: 4 characters a token, rounded up per request
CACHE_TTL_SECONDS = 300.0
_GEOS = ("apac", "au", "ca", "eu", "global", "jp", "us", "us-gov")

# Minimum tokens per checkpoint of the models the fake caches for (the user guide's table);
# a geography prefix ("us.") is ignored. Kept apart from reward_kit's own table on purpose:
# the fake plays Bedrock, not the code under test.
DEFAULT_MIN_TOKENS = {
    "amazon.nova-micro-v1:0": 1000,
    "amazon.nova-lite-v1:0": 1000,
    "amazon.nova-pro-v1:0": 1000,
    "amazon.nova-premier-v1:0": 1000,
    "anthropic.claude-3-7-sonnet-20250219-v1:0": 1024,
    "anthropic.claude-3-5-haiku-20241022-v1:0": 2048,
    "anthropic.claude-sonnet-4-20250514-v1:0": 1024,
    "anthropic.claude-haiku-4-5-20251001-v1:0": 4096,
}


def converse_body(text: str, input_tokens: int = 100, output_tokens: int = 10, cache_read: int | None = None,
                  cache_write: int | None = None) -> dict[str, Any]:
    usage: dict[str, int] = {"inputTokens": input_tokens, "outputTokens": output_tokens}
    if cache_read is not None:
        usage["cacheReadInputTokens"] = cache_read
    if cache_write is not None:
        usage["cacheWriteInputTokens"] = cache_write
    usage["totalTokens"] = input_tokens + output_tokens + (cache_read or 0) + (cache_write or 0)
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": usage,
        "metrics": {"latencyMs": 5},
    }


def _tokens(chars: int) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN)


@dataclass
class CacheUsage:
    """The input side of one request: uncached, read from the cache, written to it."""

    input: int
    read: int = 0
    write: int = 0


class UnsupportedCheckpoint(ValueError):
    """A cachePoint for a model the fake does not cache for."""


@dataclass
class PromptCache:
    """Bedrock's prompt cache as the fake models it (module docstring)."""

    min_tokens: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MIN_TOKENS))
    ttl_seconds: float = CACHE_TTL_SECONDS
    clock: Any = time.monotonic
    _seen: dict[bytes, float] = field(default_factory=dict)  # prefix digest -> expiry
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def usage(self, model_id: str | None, body: dict[str, Any]) -> CacheUsage | None:
        """The input usage of a request with checkpoints (None: it has none)."""
        texts, ends = _texts_and_checkpoints(body)
        if not ends:
            return None
        minimum = self._minimum(model_id)
        total = _tokens(sum(len(t) for t in texts))
        counted: list[tuple[int, bytes]] = []  # (prefix tokens, digest) of the checkpoints that count
        for end in ends:
            prefix = texts[:end]
            tokens = _tokens(sum(len(t) for t in prefix))
            if tokens >= (len(counted) + 1) * minimum:
                digest = hashlib.sha256(json.dumps([model_id, prefix]).encode()).digest()
                counted.append((tokens, digest))
        read = self._read_and_refresh(counted)
        write = max(0, max((tokens for tokens, _ in counted), default=0) - read)
        return CacheUsage(input=total - read - write, read=read, write=write)

    def _minimum(self, model_id: str | None) -> int:
        """The model's minimum tokens per checkpoint (a cross-region profile: its model's)."""
        geo, _, rest = (model_id or "").partition(".")
        minimum = self.min_tokens.get(rest if geo in _GEOS else model_id or "")
        if minimum is None:
            raise UnsupportedCheckpoint(f"model {model_id} does not support prompt caching")
        return minimum

    def _read_and_refresh(self, counted: list[tuple[int, bytes]]) -> int:
        """Tokens read from the cache (the longest live prefix); every counted prefix is fresh
        after the request (hit or written)."""
        now = self.clock()
        read = 0
        with self._lock:
            for tokens, digest in counted:
                expiry = self._seen.get(digest)
                if expiry is not None and expiry > now:
                    read = tokens
            for _, digest in counted:
                self._seen[digest] = now + self.ttl_seconds
        return read


def _texts_and_checkpoints(body: dict[str, Any]) -> tuple[list[str], list[int]]:
    """The text blocks in prompt order, and for each checkpoint the number of text blocks before it."""
    texts: list[str] = []
    ends: list[int] = []
    blocks = list(body.get("system") or [])
    for message in body.get("messages") or []:
        blocks += message.get("content") or []
    for block in blocks:
        if isinstance(block, dict) and "cachePoint" in block:
            ends.append(len(texts))
        elif isinstance(block, dict) and isinstance(block.get("text"), str):
            texts.append(block["text"])
    return texts, ends


@dataclass(frozen=True)
class _Behaviour:
    """What the fake does with one request, taken when it arrives: a request released late
    (after reset) must not use the next test's responder or count as its in-flight request."""

    responder: Callable[[int, dict[str, Any]], Any]
    delay: float
    released: threading.Event
    generation: int
    usage: tuple[int, int]


class _Handler(BaseHTTPRequestHandler):
    """The HTTP side: reads the request, lets the fake (``self.server.fake``) answer it."""

    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        length = int(self.headers.get("Content-Length") or 0)
        index, status, headers, payload = self.server.fake.converse(self.path, self.rfile.read(length))
        headers["x-amzn-RequestId"] = f"fake-{index}"
        data = json.dumps(payload).encode()
        self._send_headers(status, headers, len(data))
        try:
            self.wfile.write(data)
        except OSError:  # the client gave up (abandoned call): fine
            pass

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        fake = self.server.fake
        with fake._lock:
            view = {"count": len(fake.requests), "usage": dict(fake.usage_totals)}
        data = json.dumps(view if self.path == "/usage" else {"count": view["count"]}).encode()
        self._send_headers(200, {"Content-Type": "application/json"}, len(data))
        self.wfile.write(data)

    def _send_headers(self, status: int, headers: dict[str, str], length: int) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog of 5 refuses bursts of parallel calls

    def __init__(self, fake: FakeBedrock) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.daemon_threads = True


def _request_body(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return {"_raw": raw.decode("utf-8", "replace")}


def _model_id(path: str) -> str | None:
    parts = path.split("/")
    return unquote(parts[2]) if len(parts) > 3 and parts[1] == "model" else None


class FakeBedrock:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []  # {"model_id", "body", "index"} in arrival order
        self.responder: Callable[[int, dict[str, Any]], Any] = lambda index, body: '{"score": 7, "reason": "fine"}'
        self.delay_seconds = 0.0
        self.usage = (100, 10)
        self.count_tokens = False  # True: input tokens counted from the text (as with checkpoints)
        self.cache = PromptCache()
        self.usage_totals: dict[str, int] = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._released = threading.Event()  # set: sleeping handlers answer at once
        self._generation = 0
        self.server = _Server(self)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-bedrock", daemon=True
        )

    def converse(self, path: str, raw: bytes) -> tuple[int, int, dict[str, str], Any]:
        """One Converse request: (its index, HTTP status, headers, JSON payload)."""
        model_id = _model_id(path)
        body = _request_body(raw)
        index, behaviour = self._record(model_id, body, path)
        # The cache is written when the request arrives (Bedrock reads the prompt first).
        cached, unsupported = self._input_usage(model_id, body)
        answer = self._answer(index, body, behaviour)
        if unsupported is not None and not isinstance(answer, Error):
            answer = Error(400, "ValidationException", unsupported)
        status, headers, payload = self._response(index, answer, behaviour.usage, cached)
        return index, status, headers, payload

    def _record(self, model_id: str | None, body: Any, path: str) -> tuple[int, _Behaviour]:
        """Record the request and count it in flight; the behaviour it gets."""
        with self._lock:
            index = len(self.requests)
            self.requests.append({"model_id": model_id, "body": body, "path": path, "index": index})
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            return index, _Behaviour(self.responder, self.delay_seconds, self._released, self._generation, self.usage)

    def _input_usage(self, model_id: str | None, body: Any) -> tuple[CacheUsage | None, str | None]:
        """(input usage counted from the text, or None: the fixed usage; why a checkpoint is refused)."""
        try:
            cached = self.cache.usage(model_id, body) if isinstance(body, dict) else None
            unsupported = None
        except UnsupportedCheckpoint as exc:
            cached, unsupported = None, str(exc)
        if cached is None and self.count_tokens and isinstance(body, dict):
            cached = CacheUsage(input=_tokens(sum(len(t) for t in _texts(body))))
        return cached, unsupported

    def _answer(self, index: int, body: Any, behaviour: _Behaviour) -> Any:
        """The responder's answer, after the delay; the request is then no longer in flight."""
        try:
            if behaviour.delay:
                behaviour.released.wait(behaviour.delay)
            return behaviour.responder(index, body)
        finally:
            with self._lock:
                if behaviour.generation == self._generation:
                    self._in_flight -= 1

    def _response(
        self, index: int, answer: Any, usage: tuple[int, int], cached: CacheUsage | None
    ) -> tuple[int, dict[str, str], Any]:
        """(status, headers, payload) of an answer: an error, reply text or a raw body."""
        headers = {"Content-Type": "application/json"}
        if isinstance(answer, Error):
            headers["x-amzn-errortype"] = f"{answer.code}:http://internal.amazon.com/coral/com.amazon.bedrock/"
            return answer.status, headers, {"message": answer.message}
        if not isinstance(answer, (str, Reply)):
            return 200, headers, answer
        text = answer if isinstance(answer, str) else answer.text
        input_tokens, output_tokens = usage if isinstance(answer, str) else (answer.input_tokens, answer.output_tokens)
        if cached is None:
            body_out = converse_body(text, input_tokens, output_tokens)
        else:
            body_out = converse_body(text, cached.input, output_tokens, cached.read, cached.write)
        self._add_usage(index, body_out["usage"])
        return 200, headers, body_out

    def start(self) -> FakeBedrock:
        self._thread.start()
        return self

    def reset(self) -> None:
        """Forget requests and behaviour (between tests); release sleeping handlers."""
        with self._lock:
            self._released.set()
            self._released = threading.Event()
            self._generation += 1
            self.requests = []
            self.responder = lambda index, body: '{"score": 7, "reason": "fine"}'
            self.delay_seconds = 0.0
            self.usage = (100, 10)
            self.count_tokens = False
            self.usage_totals = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}
            self.max_in_flight = 0
            self._in_flight = 0
        self.cache = PromptCache()

    def _add_usage(self, index: int, usage: dict[str, int]) -> None:
        with self._lock:
            if index < len(self.requests) and self.requests[index]["index"] == index:
                self.requests[index]["usage"] = usage
            self.usage_totals["input"] += usage.get("inputTokens", 0)
            self.usage_totals["output"] += usage.get("outputTokens", 0)
            self.usage_totals["cache_read"] += usage.get("cacheReadInputTokens", 0)
            self.usage_totals["cache_write"] += usage.get("cacheWriteInputTokens", 0)

    def hang(self) -> None:
        """Every request from now on waits until ``reset`` (the end of the test)."""
        self.delay_seconds = HANG_SECONDS

    def stop(self) -> None:
        self._released.set()  # release sleeping handlers
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    # --- views of what the fake received ------------------------------------------------------

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def user_text(self, index: int = 0) -> str:
        body = self.requests[index]["body"]
        return "".join(block.get("text", "") for block in body["messages"][0]["content"])

    def system_text(self, index: int = 0) -> str:
        return "".join(block.get("text", "") for block in self.requests[index]["body"]["system"])


def _texts(body: dict[str, Any]) -> list[str]:
    blocks = list(body.get("system") or [])
    for message in body.get("messages") or []:
        blocks += message.get("content") or []
    return [block["text"] for block in blocks if isinstance(block, dict) and isinstance(block.get("text"), str)]
