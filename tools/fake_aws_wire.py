"""The wire side of ``tools.fake_aws``: Lambda's REST-JSON and CloudFormation's query protocol
(XML) as botocore speaks them, and Bedrock's ``CreateModelCustomizationJob``; errors in each
protocol's own form. The state and behaviour behind it are ``FakeAws``'s."""

from __future__ import annotations

import json
import uuid
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlparse
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from tools.fake_aws import FakeAws, Function

CFN_NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


class RequestHandler(BaseHTTPRequestHandler):
    """The wire side of a ``FakeAws`` (its ``fake``, set by ``FakeAws._handler_class``): Lambda's
    REST-JSON, Bedrock's job creation and CloudFormation's query protocol."""

    fake: FakeAws

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, error: ApiError) -> None:
        if error.xml:
            body = (f'<ErrorResponse xmlns="{CFN_NS}"><Error><Type>Sender</Type><Code>{error.code}</Code>'
                    f"<Message>{escape(error.message)}</Message></Error><RequestId>{uuid.uuid4()}"
                    "</RequestId></ErrorResponse>").encode()
            self._send(error.status, body, "text/xml")
        else:
            body = json.dumps({"Type": "User", "Message": error.message}).encode()
            self._send(error.status, body, "application/json", {"x-amzn-errortype": error.code})

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        try:
            self._lambda("GET", b"")
        except ApiError as error:
            self._error(error)

    def do_POST(self) -> None:
        body = self._body()
        try:
            if urlparse(self.path).path.startswith("/2015-03-31/"):
                self._lambda("POST", body)
            elif urlparse(self.path).path == "/model-customization-jobs":  # Bedrock
                self._create_job(body)
            else:
                self._cloudformation(body)
        except ApiError as error:
            self._error(error)

    def _create_job(self, body: bytes) -> None:
        fake = self.fake
        request = json.loads(body)
        fake.jobs.append(request)
        job_arn = (f"arn:aws:bedrock:{fake.region}:{fake.account}:model-customization-job/"
                   f"{uuid.uuid5(uuid.NAMESPACE_URL, request['jobName']).hex[:12]}")
        self._send(201, json.dumps({"jobArn": job_arn}).encode(), "application/json")

    def _cloudformation(self, body: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("Action") != "DescribeStacks":
            raise ApiError(400, "InvalidAction", f"not faked: {form.get('Action')}", xml=True)
        self._send(200, self.fake.describe_stacks(form.get("StackName", "")).encode(), "text/xml")

    def _lambda(self, method: str, body: bytes) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = [unquote(p) for p in url.path.split("/")[2:]]  # functions, name, ...
        if len(parts) < 3 or parts[0] != "functions":
            raise ApiError(404, "UnknownOperationException", f"not faked: {method} {url.path}")
        fn, qualifier = self.fake._function(parts[1])
        qualifier = query.get("Qualifier", qualifier)
        if method == "POST" and parts[2] == "invocations":
            self._invoke(fn, qualifier, body)
            return
        result = self._lambda_read(method, url.path, fn, qualifier, parts)
        self._send(200, json.dumps(result).encode(), "application/json")

    def _lambda_read(
        self, method: str, path: str, fn: Function, qualifier: str | None, parts: list[str]
    ) -> dict[str, Any]:
        """ListVersionsByFunction, GetAlias, GetFunctionConfiguration."""
        action = parts[2]
        if method == "GET" and action == "versions":
            return self._versions(fn)
        if method == "GET" and action == "aliases" and len(parts) == 4:
            return _alias(fn, parts[3])
        if method == "GET" and action == "configuration":
            return self.fake.configuration(fn, self.fake._version(fn, qualifier))
        raise ApiError(404, "UnknownOperationException", f"not faked: {method} {path}")

    def _versions(self, fn: Function) -> dict[str, Any]:
        configs = [self.fake.configuration(fn, v) for v in fn.versions.values()]
        latest = dict(configs[-1], Version="$LATEST", FunctionArn=fn.arn) if configs else None
        return {"Versions": ([latest] if latest else []) + configs}

    def _invoke(self, fn: Function, qualifier: str | None, body: bytes) -> None:
        fake = self.fake
        version = fake._version(fn, qualifier)
        payload, error = fake.invoke(fn, version, body, f"{fn.arn}:{qualifier}" if qualifier else fn.arn)
        headers = {"X-Amz-Executed-Version": version.number}
        if error:
            headers["X-Amz-Function-Error"] = error
        self._send(200, payload, "application/json", headers)


def _alias(fn: Function, name: str) -> dict[str, Any]:
    if name not in fn.aliases:
        raise ApiError(404, "ResourceNotFoundException", f"Alias not found: {fn.arn}:{name}")
    return {"AliasArn": f"{fn.arn}:{name}", "Name": name, "FunctionVersion": fn.aliases[name], "Description": ""}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, xml: bool = False) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.xml = status, code, message, xml
