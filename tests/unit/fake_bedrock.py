"""A fake Bedrock Runtime ``Converse`` endpoint on 127.0.0.1 for the judge tests.

It speaks the REST-JSON wire format botocore expects (``POST /model/{modelId}/converse``;
errors as an HTTP status plus ``x-amzn-errortype``), records every request body, counts
requests in flight (to prove parallelism without timing assertions) and answers with
whatever ``responder(index, body)`` returns:

- a ``str``: the judge's reply text (wrapped in a normal Converse response);
- ``Error(status, code)``: an error response;
- a ``dict``: a raw response body.
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


def converse_body(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 100, "outputTokens": 10, "totalTokens": 110},
        "metrics": {"latencyMs": 5},
    }


class FakeBedrock:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []  # {"model_id", "body", "index"} in arrival order
        self.responder: Callable[[int, dict[str, Any]], Any] = lambda index, body: '{"score": 7, "reason": "fine"}'
        self.delay_seconds = 0.0
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
                    responder, delay, released, generation = (
                        fake.responder, fake.delay_seconds, fake._released, fake._generation
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
                    status, payload = 200, converse_body(answer)
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
            self.max_in_flight = 0
            self._in_flight = 0

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


# --- pytest wiring ---------------------------------------------------------------------------------

import logging  # noqa: E402

import pytest  # noqa: E402

from reward_kit import names  # noqa: E402

MODEL_ID = "us.amazon.nova-pro-v1:0"  # an inference profile id: ':' must survive URL encoding


@pytest.fixture(scope="session")
def _bedrock_server():
    # One server per session: every test then reuses the judge's cached boto3 client (creating
    # one loads the service model, ~0.3 s). Stopped at the end of the session.
    from reward_kit.graders import judge

    fake = FakeBedrock().start()
    try:
        yield fake
    finally:
        fake.stop()
        judge.reset_clients()


@pytest.fixture
def bedrock(_bedrock_server, monkeypatch):
    """The fake Bedrock, reset, with boto3 pointed at it (dummy credentials, no retry sleeps)."""
    from botocore.retries.standard import ExponentialBackoff

    from reward_kit.graders import judge

    fake = _bedrock_server
    fake.reset()
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION",
                names.ENV_JUDGE_MAX_CONCURRENCY, names.ENV_LOG_SAMPLE_TEXT):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
    monkeypatch.setenv(names.ENV_JUDGE_MODEL_ID, MODEL_ID)
    # botocore's real backoff (up to seconds for throttling) is not what these tests check.
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    judge.reset_logged_errors()
    try:
        yield fake
    finally:
        fake.reset()
        judge.reset_logged_errors()


class RecordList(logging.Handler):
    """Every record the judge logs, as dicts (message + extra fields), whatever the config."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append({**record.__dict__, "message": record.getMessage()})


@pytest.fixture
def judge_logs():
    handler = RecordList()
    judge_logger = logging.getLogger("reward_kit.graders.judge")
    judge_logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        judge_logger.removeHandler(handler)
