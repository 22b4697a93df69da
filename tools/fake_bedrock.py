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
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                parts = self.path.split("/")
                model_id = unquote(parts[2]) if len(parts) > 3 and parts[1] == "model" else None
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                with fake._lock:
                    index = len(fake.requests)
                    fake.requests.append({"model_id": model_id, "body": body, "path": self.path, "index": index})
                    fake._in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake._in_flight)
                    # Taken now: a request released late (after reset) must not use the next
                    # test's responder or count as its in-flight request.
                    responder, delay, released, generation, usage = (
                        fake.responder, fake.delay_seconds, fake._released, fake._generation, fake.usage
                    )
                # The cache is written when the request arrives (Bedrock reads the prompt first).
                try:
                    cached = fake.cache.usage(model_id, body) if isinstance(body, dict) else None
                    unsupported = None
                except UnsupportedCheckpoint as exc:
                    cached, unsupported = None, str(exc)
                if cached is None and fake.count_tokens and isinstance(body, dict):
                    cached = CacheUsage(input=_tokens(sum(len(t) for t in _texts(body))))
                try:
                    if delay:
                        released.wait(delay)
                    answer = responder(index, body)
                finally:
                    with fake._lock:
                        if generation == fake._generation:
                            fake._in_flight -= 1
                headers = {"Content-Type": "application/json"}
                if unsupported is not None and not isinstance(answer, Error):
                    answer = Error(400, "ValidationException", unsupported)
                if isinstance(answer, Error):
                    status, payload = answer.status, {"message": answer.message}
                    headers["x-amzn-errortype"] = f"{answer.code}:http://internal.amazon.com/coral/com.amazon.bedrock/"
                elif isinstance(answer, (str, Reply)):
                    text = answer if isinstance(answer, str) else answer.text
                    input_tokens, output_tokens = usage if isinstance(answer, str) else (
                        answer.input_tokens, answer.output_tokens)
                    if cached is None:
                        body_out = converse_body(text, input_tokens, output_tokens)
                    else:
                        body_out = converse_body(text, cached.input, output_tokens, cached.read, cached.write)
                    fake._add_usage(index, body_out["usage"])
                    status, payload = 200, body_out
                else:
                    status, payload = 200, answer
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("x-amzn-RequestId", f"fake-{index}")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:  # the client gave up (abandoned call): fine
                    pass

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                with fake._lock:
                    view = {"count": len(fake.requests), "usage": dict(fake.usage_totals)}
                data = json.dumps(view if self.path == "/usage" else {"count": view["count"]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default backlog of 5 refuses bursts of parallel calls

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-bedrock", daemon=True
        )

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
