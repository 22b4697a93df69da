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
the requests received so far (for processes other than the one running the fake).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
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


def converse_body(text: str, input_tokens: int = 100, output_tokens: int = 10) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": input_tokens, "outputTokens": output_tokens,
                  "totalTokens": input_tokens + output_tokens},
        "metrics": {"latencyMs": 5},
    }


class FakeBedrock:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []  # {"model_id", "body", "index"} in arrival order
        self.responder: Callable[[int, dict[str, Any]], Any] = lambda index, body: '{"score": 7, "reason": "fine"}'
        self.delay_seconds = 0.0
        self.usage = (100, 10)
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
                try:
                    if delay:
                        released.wait(delay)
                    answer = responder(index, body)
                finally:
                    with fake._lock:
                        if generation == fake._generation:
                            fake._in_flight -= 1
                headers = {"Content-Type": "application/json"}
                if isinstance(answer, Error):
                    status, payload = answer.status, {"message": answer.message}
                    headers["x-amzn-errortype"] = f"{answer.code}:http://internal.amazon.com/coral/com.amazon.bedrock/"
                elif isinstance(answer, str):
                    status, payload = 200, converse_body(answer, *usage)
                elif isinstance(answer, Reply):
                    status, payload = 200, converse_body(answer.text, answer.input_tokens, answer.output_tokens)
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
                data = json.dumps({"count": fake.count}).encode()
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
            self.max_in_flight = 0
            self._in_flight = 0

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
        return "".join(block["text"] for block in body["messages"][0]["content"])

    def system_text(self, index: int = 0) -> str:
        return "".join(block["text"] for block in self.requests[index]["body"]["system"])
