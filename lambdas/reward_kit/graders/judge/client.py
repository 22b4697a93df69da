"""The judge's Bedrock client: one per process, one attempt per request, retries and the
deadline done here; the configuration the deployment gives (model, concurrency, caching).

Calls, retries and the deadline: the client (built at init by ``prepare_client`` from the
rlaif handler) makes one attempt per request; ``call`` retries throttling, model-not-ready,
5xx and connection errors up to 4 attempts with full-jitter backoff, and only when the retry
can start at least ``MIN_SECONDS_TO_START_A_CALL`` before the deadline: no attempt ever
starts after it. With a deadline each attempt runs on its own thread, the caller stops waiting
at the deadline, and the attempt's read timeout is the time left (botocore's per-request
``read_timeout``), so an abandoned attempt ends about at the deadline, at the latest
``CONNECT_TIMEOUT_SECONDS`` (2 s) after it; with a botocore that lacks per-request read
timeouts, at the latest ``READ_TIMEOUT_SECONDS`` (60 s) after it.

botocore's and urllib3's loggers drop everything below WARNING (their DEBUG lines carry
request and response bodies), whatever level is configured. boto3 is imported lazily, when
the first client is built: only RLAIF functions pay for it.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from typing import Any, Mapping

from reward_kit import settings
from reward_kit.graders.judge.config import max_concurrency
from reward_kit.judge_stats import JudgeStats

__all__ = ["ABANDONED", "call", "prepare_client", "reset_clients", "reset_logged_errors", "silence_sdk_debug_logs"]

# Attempts per call (the first + 3 retries), made by this module rather than botocore so that
# none starts after the deadline and every one is counted (JudgeRetries, JudgeThrottles).
TOTAL_MAX_ATTEMPTS = 4
CONNECT_TIMEOUT_SECONDS = 2
# Ceiling of the read timeout; each attempt's own read timeout is the time left before the
# deadline when that is shorter (see _send).
READ_TIMEOUT_SECONDS = 60
# Full-jitter exponential backoff between attempts: uniform(0, min(cap, base * 2**retry)).
RETRY_BASE_SECONDS = 0.5
RETRY_MAX_BACKOFF_SECONDS = 8.0
# Do not start a call (or a retry) with less than this left before the deadline: it would be
# abandoned.
MIN_SECONDS_TO_START_A_CALL = 0.5
STOP_WAITING_EARLY_SECONDS = 0.05
# Errors worth another attempt (Amazon Bedrock API reference: Converse, Errors): throttling, the model loading, 5xx, timeouts.
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ModelNotReadyException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelTimeoutException",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ConnectionClosedError",
        "ReadTimeoutError",
    }
)
THROTTLING_CODE = "ThrottlingException"
# Errors that no retry fixes: the deployment is wrong (IAM, model id, region, request shape).
CONFIG_ERROR_CODES = frozenset(
    {
        "AccessDeniedException",
        "ResourceNotFoundException",
        "ValidationException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "NoRegionError",
        "NoCredentialsError",
    }
)
# Their service messages name ARNs and ids, never request content: safe to log.
_LOGGABLE_MESSAGE_CODES = frozenset({"AccessDeniedException", "ResourceNotFoundException", "UnrecognizedClientException"})

# The judge's records keep the package's logger name (tests and log filters use it).
log = logging.getLogger("reward_kit.graders.judge")


# --- SDK logs: never the request or response body ----------------------------------------------

# botocore logs request parameters, bodies and signing input at DEBUG (and urllib3 the
# exchanges): with the root logger at DEBUG that would print sample text. These loggers
# drop everything below WARNING, whatever level anyone configures.
_SDK_LOGGER_PREFIXES = ("botocore", "boto3", "urllib3", "s3transfer")
_SDK_LOGGERS = (
    "botocore", "botocore.endpoint", "botocore.parsers", "botocore.awsrequest", "botocore.auth",
    "botocore.httpsession", "botocore.client", "botocore.handlers", "botocore.hooks",
    "botocore.retryhandler", "botocore.regions", "botocore.credentials", "botocore.utils",
    "botocore.loaders", "botocore.endpoint_provider", "botocore.retries.standard",
    "botocore.retries.special", "botocore.retries.adaptive", "botocore.httpchecksum",
    "botocore.args", "botocore.configprovider", "botocore.tokens", "boto3", "boto3.resources.action",
    "urllib3", "urllib3.connectionpool", "urllib3.connection", "urllib3.response", "urllib3.util.retry",
    "urllib3.poolmanager",
)  # fmt: skip


class _BelowWarningDropped(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_SDK_LOG_FILTER = _BelowWarningDropped()


def silence_sdk_debug_logs() -> None:
    """Attach the filter to every SDK logger that exists (and the known ones, created now)."""
    for name in _SDK_LOGGERS:
        logging.getLogger(name)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.split(".")[0] in _SDK_LOGGER_PREFIXES:
            if _SDK_LOG_FILTER not in logger.filters:
                logger.addFilter(_SDK_LOG_FILTER)


silence_sdk_debug_logs()


# --- the Bedrock client: one per process ---------------------------------------------------------

_clients: dict[tuple[Any, ...], Any] = {}
_client_lock = threading.Lock()
_logged_codes: set[str] = set()
_log_lock = threading.Lock()
# The read timeout of the attempt running on this thread (set by _send, read by _set_read_timeout).
_attempt = threading.local()


def _set_read_timeout(context: dict[str, Any], **_: Any) -> None:
    # botocore "before-call" hook: a per-request read timeout in the request context, honoured by
    # botocore's HTTP session (URLLib3Session._get_request_timeout) where the runtime's botocore
    # has it; older ones ignore the key and use the client's READ_TIMEOUT_SECONDS.
    read_timeout = getattr(_attempt, "read_timeout", None)
    if read_timeout is not None:
        context["read_timeout"] = read_timeout


def _client(pool_size: int) -> Any:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    # The endpoint variables are part of the key so a changed environment (tests, local fakes)
    # gets a new client; in Lambda the key never changes.
    key = (
        region,
        os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME"),
        os.environ.get("AWS_ENDPOINT_URL"),
        pool_size,
    )
    client = _clients.get(key)
    if client is None:
        with _client_lock:  # client creation is not thread-safe; judge calls start in parallel
            client = _clients.get(key)
            if client is None:
                import boto3  # lazy: only RLAIF functions pay for it (at init: prepare_client)
                from botocore.config import Config

                config = Config(
                    # Retries are ours (Judge._call): bounded by attempts and by the deadline.
                    retries={"mode": "standard", "total_max_attempts": 1},
                    connect_timeout=CONNECT_TIMEOUT_SECONDS,
                    read_timeout=READ_TIMEOUT_SECONDS,
                    max_pool_connections=max(pool_size, 10),
                    user_agent_extra="nova-rft-reward-kit/judge",
                )
                client = boto3.session.Session().client("bedrock-runtime", region_name=region, config=config)
                client.meta.events.register("before-call.bedrock-runtime.Converse", _set_read_timeout)
                silence_sdk_debug_logs()  # the SDK's loggers exist now
                _clients.clear()
                _clients[key] = client
    return client


def prepare_client() -> bool:
    """Build the Bedrock client now (the rlaif handler calls this at import, i.e. during the
    Lambda init phase) so the first invocation does not pay for it. True when built; False
    when the environment has no judge or is invalid (the first invocation reports why)."""
    if settings.JUDGE_MODEL_ID.read() is None:
        return False
    try:
        _client(max_concurrency())
    except Exception:  # noqa: BLE001 - init must not fail: the invocation raises the clear error
        return False
    return True


def reset_clients() -> None:
    """Forget cached clients and logged error codes (tests); ``grader.reset_clients`` also
    forgets cached results."""
    with _client_lock:
        _clients.clear()
        _cache_point_support.clear()
    reset_logged_errors()


def reset_logged_errors() -> None:
    """Log each error code again on its next occurrence (tests)."""
    with _log_lock:
        _logged_codes.clear()


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str) and code:
            return code
    return type(exc).__name__


def _is_retryable(exc: BaseException, code: str) -> bool:
    if code in RETRYABLE_CODES:
        return True
    response = getattr(exc, "response", None)
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") if isinstance(response, Mapping) else None
    return isinstance(status, int) and status >= 500


def _report_error(exc: BaseException, model_id: str) -> None:
    """Log each error code once per process: ERROR for configuration errors, else WARNING.

    Never logs sample text; the per-sample count is the Failure_judge_error metric and the
    per-code count the JudgeError_<code> metric.
    """
    code = _error_code(exc)
    with _log_lock:
        if code in _logged_codes:
            return
        _logged_codes.add(code)
    response = getattr(exc, "response", None)
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") if isinstance(response, Mapping) else None
    fields: dict[str, Any] = {"error_code": code, "http_status": status, "model_id": model_id}
    if code in CONFIG_ERROR_CODES:
        if code in _LOGGABLE_MESSAGE_CODES:
            fields["error_message"] = str(exc)[:300]
        log.error(
            "judge call failed with a configuration error (%s): check JUDGE_MODEL_ID, the region and "
            "bedrock:InvokeModel permissions; samples score the minimum with reason judge_error",
            code,
            extra=fields,
        )
    else:
        log.warning("judge call failed after retries (%s); samples score the minimum with reason judge_error",
                    code, extra=fields)


# --- one request, on a thread of its own --------------------------------------------------------


class _Attempt:
    """One Converse request on a thread of its own, so its caller can stop waiting at the deadline."""

    __slots__ = ("done", "error", "response")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.response: Any = None
        self.error: BaseException | None = None

    def run(self, pool_size: int, request: Mapping[str, Any], read_timeout: float) -> None:
        try:
            # The client too (built at init in Lambda): its construction counts against the deadline.
            self.response = _send(_client(pool_size), request, read_timeout)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            self.error = exc
        finally:
            self.done.set()


_cache_point_support: dict[int, bool] = {}


def _without_checkpoints(request: Mapping[str, Any]) -> dict[str, Any]:
    stripped = dict(request)
    stripped["system"] = [block for block in request["system"] if "cachePoint" not in block]
    stripped["messages"] = [
        {**message, "content": [block for block in message["content"] if "cachePoint" not in block]}
        for message in request["messages"]
    ]
    return stripped


def _client_knows_cache_points(client: Any) -> bool:
    """Whether the client's service model has Converse's cachePoint block: botocore comes
    from the Lambda runtime, and one that predates prompt caching would reject the request
    (ParamValidationError) before sending it."""
    known = _cache_point_support.get(id(client))
    if known is None:
        try:
            known = "cachePoint" in client.meta.service_model.shape_for("SystemContentBlock").members
        except Exception:  # noqa: BLE001 - an unexpected model: send no checkpoints
            known = False
        if not known:
            log.warning("the runtime's botocore does not know Converse cachePoint blocks: judge requests are "
                        "sent without prompt caching checkpoints")
        _cache_point_support[id(client)] = known
    return known


def _send(client: Any, request: Mapping[str, Any], read_timeout: float | None) -> Any:
    _attempt.read_timeout = read_timeout
    try:
        if not _client_knows_cache_points(client):
            request = _without_checkpoints(request)
        return client.converse(**request)
    finally:
        _attempt.read_timeout = None


ABANDONED = object()


def _backoff_seconds(attempt: int) -> float:
    """Full-jitter exponential backoff before retry number ``attempt`` (1, 2, ...)."""
    return random.uniform(0.0, min(RETRY_MAX_BACKOFF_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempt - 1)))


# --- retries and the deadline ----------------------------------------------------------------------


def call(request: Mapping[str, Any], pool_size: int, model_id: str, stats: JudgeStats,
         deadline: float | None) -> tuple[Any, Any]:
    """(Converse response, None), or (None, error code | ABANDONED). Attempts are retried
    with jittered backoff while the error is retryable, attempts remain and the retry can
    start before the deadline; no attempt ever starts after it."""
    started = time.monotonic()
    attempts = throttles = 0
    while True:
        attempts += 1
        try:
            response = _attempt_once(pool_size, request, deadline)
        except Exception as exc:  # noqa: BLE001 - one sample, minimum score
            code = _error_code(exc)
            throttles += code == THROTTLING_CODE
            delay = _backoff_seconds(attempts)
            in_time = deadline is None or time.monotonic() + delay + MIN_SECONDS_TO_START_A_CALL <= deadline
            if attempts < TOTAL_MAX_ATTEMPTS and in_time and _is_retryable(exc, code):
                time.sleep(delay)
                continue
            _report_error(exc, model_id)
            stats.record_call(time.monotonic() - started, attempts=attempts, throttles=throttles, error_code=code)
            return None, code
        if response is ABANDONED:
            stats.record_call(time.monotonic() - started, attempts=attempts, throttles=throttles, abandoned=True)
            return None, ABANDONED
        usage = response.get("usage") if isinstance(response, Mapping) else None
        stats.record_call(time.monotonic() - started, attempts=attempts, throttles=throttles, usage=usage)
        return response, None


def _attempt_once(pool_size: int, request: Mapping[str, Any], deadline: float | None) -> Any:
    """The Converse response (raises its error), or ABANDONED at the deadline.

    With a deadline the request runs on its own thread with a read timeout no longer than
    the time left, and this thread stops waiting at the deadline whatever the socket does.
    """
    if deadline is None:
        return _send(_client(pool_size), request, None)
    left = deadline - time.monotonic()
    if left <= 0:
        return ABANDONED
    attempt = _Attempt()
    read_timeout = max(0.05, min(float(READ_TIMEOUT_SECONDS), left))
    threading.Thread(
        target=attempt.run, args=(pool_size, request, read_timeout), name="judge-attempt", daemon=True
    ).start()
    # Stop waiting a little early so the abandonment is recorded before the Scorer's own
    # cut-off at the same deadline.
    if not attempt.done.wait(max(0.0, left - STOP_WAITING_EARLY_SECONDS)):
        return ABANDONED
    if attempt.error is not None:
        raise attempt.error
    return attempt.response
