"""A fake SageMaker AI-registry endpoint on 127.0.0.1 for the evaluator-registration tests.

It speaks the JSON 1.1 wire format botocore uses for SageMaker (``POST /`` with
``X-Amz-Target: SageMaker.<Operation>``; errors as HTTP 400 with ``{"__type", "message"}``)
and keeps hubs and hub content in memory, with the semantics the handler relies on:
``DescribeHub``/``DescribeHubContent``/``DeleteHubContent`` answer ``ResourceNotFound`` for
what does not exist, ``CreateHub``/``ImportHubContent`` answer ``ResourceInUse`` for what
does, ``DescribeHubContent`` without a version returns the latest one, and
``ListHubContentVersions`` pages (``page_size``). Every request is recorded; ``inject``
queues error responses for an operation (access denied, throttling, ...).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass(frozen=True)
class Error:
    code: str
    message: str = "fake error"
    status: int = 400


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


class FakeSageMaker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                target = self.headers.get("X-Amz-Target", "")
                operation = target.split(".", 1)[1] if target.startswith("SageMaker.") else target
                status, payload = fake.handle(operation, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("x-amzn-RequestId", f"fake-{len(fake.requests)}")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://localhost:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-sagemaker", daemon=True)

    def start(self) -> FakeSageMaker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def reset(self) -> None:
        with self._lock:
            self.requests: list[tuple[str, dict[str, Any]]] = []
            self.hubs: dict[str, dict[str, Any]] = {}
            self.contents: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}  # (hub, name) -> version -> record
            self.injected: dict[str, deque[Error]] = defaultdict(deque)
            self.page_size = 100
            self.import_statuses: deque[str] = deque()  # statuses a new version reports before "Available"
            self.import_failure: str | None = None  # a new version ends ImportFailed with this reason
            self.hub_statuses: deque[str] = deque()  # statuses a new hub reports before "InService"

    # --- set-up helpers ------------------------------------------------------------------------

    def inject(self, operation: str, *errors: Error) -> None:
        with self._lock:
            self.injected[operation].extend(errors)

    def add_hub(self, name: str, display_name: str = "") -> None:
        self.hubs[name] = {"HubName": name, "HubDisplayName": display_name, "HubDescription": "existing",
                           "HubArn": self._hub_arn(name), "HubStatus": "InService", "CreationTime": time.time(),
                           "LastModifiedTime": time.time()}

    def add_content(self, hub: str, name: str, version: str, document: str, description: str = "") -> None:
        self.contents.setdefault((hub, name), {})[version] = self._content(hub, name, version, {
            "HubContentDocument": document, "HubContentDescription": description, "DocumentSchemaVersion": "2.0.0",
        }, status="Available")

    # --- views ----------------------------------------------------------------------------------

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.requests]

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [params for op, params in self.requests if op == operation]

    def versions(self, hub: str, name: str) -> list[str]:
        return sorted(self.contents.get((hub, name), {}), key=_version_key)

    # --- the service -----------------------------------------------------------------------------

    def _hub_arn(self, hub: str) -> str:
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub/{hub}"

    def _content_arn(self, hub: str, name: str, version: str) -> str:
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/{hub}/JsonDoc/{name}/{version}"

    def _content(self, hub: str, name: str, version: str, params: dict[str, Any], status: str) -> dict[str, Any]:
        return {
            "HubContentName": name, "HubContentVersion": version, "HubContentType": "JsonDoc",
            "HubContentArn": self._content_arn(hub, name, version), "HubName": hub, "HubArn": self._hub_arn(hub),
            "DocumentSchemaVersion": params.get("DocumentSchemaVersion", ""),
            "HubContentDisplayName": params.get("HubContentDisplayName", ""),
            "HubContentDescription": params.get("HubContentDescription", ""),
            "HubContentDocument": params.get("HubContentDocument", ""),
            "HubContentSearchKeywords": params.get("HubContentSearchKeywords", []),
            "HubContentStatus": status, "CreationTime": time.time(), "LastModifiedTime": time.time(),
        }

    def handle(self, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append((operation, params))
            if self.injected[operation]:
                error = self.injected[operation].popleft()
                return error.status, {"__type": error.code, "message": error.message}
            method = getattr(self, f"_op_{operation}", None)
            if method is None:
                return 400, {"__type": "UnknownOperationException", "message": operation}
            try:
                return 200, method(params)
            except _Fault as fault:
                return 400, {"__type": fault.code, "message": fault.message}

    def _hub(self, params: dict[str, Any]) -> str:
        hub = params["HubName"]
        if hub not in self.hubs:
            raise _Fault("ResourceNotFound", f"Hub {hub} does not exist.")
        return hub

    def _op_DescribeHub(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        hub = self.hubs[self._hub(params)]
        statuses = hub.get("_statuses")
        hub["HubStatus"] = statuses.popleft() if statuses else "InService"
        return {key: value for key, value in hub.items() if not key.startswith("_")}

    def _op_CreateHub(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        name = params["HubName"]
        if name in self.hubs:
            raise _Fault("ResourceInUse", f"Hub {name} already exists.")
        self.add_hub(name, params.get("HubDisplayName", ""))
        self.hubs[name]["HubDescription"] = params["HubDescription"]
        self.hubs[name]["_statuses"] = deque(self.hub_statuses)
        return {"HubArn": self._hub_arn(name)}

    def _op_ImportHubContent(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        hub = self._hub(params)
        name, version = params["HubContentName"], params.get("HubContentVersion", "1.0.0")
        versions = self.contents.setdefault((hub, name), {})
        if version in versions:
            raise _Fault("ResourceInUse", f"Hub content {name} version {version} already exists.")
        record = self._content(hub, name, version, params, status="Importing")
        record["_statuses"] = deque(self.import_statuses)
        if self.import_failure:
            record["_statuses"].append("ImportFailed")
            record["FailureReason"] = self.import_failure
        versions[version] = record
        return {"HubArn": self._hub_arn(hub), "HubContentArn": record["HubContentArn"]}

    def _record(self, params: dict[str, Any]) -> dict[str, Any]:
        hub = self._hub(params)
        versions = self.contents.get((hub, params["HubContentName"]))
        if not versions:
            raise _Fault("ResourceNotFound", f"Hub content {params['HubContentName']} does not exist.")
        version = params.get("HubContentVersion") or max(versions, key=_version_key)
        if version not in versions:
            raise _Fault("ResourceNotFound", f"Hub content {params['HubContentName']} version {version} does not exist.")
        return versions[version]

    def _op_DescribeHubContent(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        record = self._record(params)
        statuses = record.get("_statuses")
        record["HubContentStatus"] = statuses.popleft() if statuses else (
            "ImportFailed" if record.get("FailureReason") else "Available")
        return {key: value for key, value in record.items() if not key.startswith("_")}

    def _op_ListHubContentVersions(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        hub = self._hub(params)
        versions = sorted(self.contents.get((hub, params["HubContentName"]), {}), key=_version_key)
        start = int(params.get("NextToken") or 0)
        page = versions[start:start + self.page_size]
        summaries = [{"HubContentName": params["HubContentName"], "HubContentVersion": v, "HubContentType": "JsonDoc",
                      "HubContentArn": self._content_arn(hub, params["HubContentName"], v),
                      "DocumentSchemaVersion": "2.0.0", "HubContentStatus": "Available", "CreationTime": time.time()}
                     for v in page]
        response: dict[str, Any] = {"HubContentSummaries": summaries}
        if start + self.page_size < len(versions):
            response["NextToken"] = str(start + self.page_size)
        return response

    def _op_DeleteHubContent(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        record = self._record(params)
        versions = self.contents[(record["HubName"], record["HubContentName"])]
        del versions[record["HubContentVersion"]]
        if not versions:
            del self.contents[(record["HubName"], record["HubContentName"])]
        return {}


class _Fault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message
