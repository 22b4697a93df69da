"""A fake of the Lambda and CloudFormation APIs on 127.0.0.1, for the operator tools' tests
and the README's walkthrough (``make versions``, ``make invoke``, ``make job``); it also
accepts Bedrock's ``CreateModelCustomizationJob`` (recorded in ``jobs``, answered with a job ARN).

Real botocore clients talk to it through ``AWS_ENDPOINT_URL_LAMBDA`` and
``AWS_ENDPOINT_URL_CLOUDFORMATION``. It speaks the wire formats botocore expects: Lambda's
REST-JSON (``ListVersionsByFunction``, ``GetFunctionConfiguration``, ``GetAlias``,
``Invoke``; errors as ``x-amzn-errortype``) and CloudFormation's query protocol
(``DescribeStacks``, XML). ``deploy(template)`` does what a CloudFormation deploy of one of
our synthesized templates does to these APIs: it publishes a new version of every function
(its description and environment from the template), points the ``live`` alias where the
template says, and resolves the stack's outputs with the new physical values.

``Invoke`` runs the function's real handler (``rlvr.handler.handler`` ...) in this process,
with the version's environment variables, so the deployed code scores the rollouts; a
function can be given another handler (a broken one, for tests). Its stdout (the EMF
records) is kept in ``logs``, not printed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from xml.sax.saxutils import escape

from tools.fake_aws_wire import CFN_NS, ApiError, RequestHandler

Handler = Callable[[Any, Any], Any]
_ENV_LOCK = threading.Lock()  # handlers read os.environ: one invocation at a time


@dataclass
class Version:
    number: str
    description: str
    environment: dict[str, str]
    handler: str
    timeout: int
    memory: int
    last_modified: str
    code_sha256: str


@dataclass
class Function:
    name: str
    arn: str
    versions: dict[str, Version] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # name -> version
    published: dict[str, str] = field(default_factory=dict)  # AWS::Lambda::Version logical id -> number
    override: Handler | None = None  # a replacement handler (tests: a broken function)

    def next_version(self) -> str:
        return str(len(self.versions) + 1)


class _Context:
    """The parts of Lambda's context object the handlers read."""

    def __init__(self, fn: Function, version: Version, invoked_arn: str) -> None:
        self.function_name = fn.name
        self.function_version = version.number
        self.invoked_function_arn = invoked_arn
        self.memory_limit_in_mb = version.memory
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + version.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def resolve_intrinsics(value: Any, physical: dict[str, str]) -> Any:
    """A template value with its intrinsics (Ref, GetAtt, Join, Select, Split) evaluated against
    ``physical`` (``<logical id>`` and ``<logical id>.<attribute>`` -> value); KeyError on others."""
    if isinstance(value, (str, int, float)):
        return value
    if isinstance(value, list):
        return [resolve_intrinsics(v, physical) for v in value]
    (key, arg), = value.items()
    if key == "Ref":
        return physical[arg]
    if key == "Fn::GetAtt":
        return physical[f"{arg[0]}.{arg[1]}"]
    if key == "Fn::Join":
        return arg[0].join(str(resolve_intrinsics(part, physical)) for part in arg[1])
    if key == "Fn::Select":
        return resolve_intrinsics(arg[1], physical)[int(arg[0])]
    if key == "Fn::Split":
        return str(resolve_intrinsics(arg[1], physical)).split(arg[0])
    raise KeyError(key)


class FakeAws:
    def __init__(self, account: str = "111122223333", region: str = "us-east-1") -> None:
        self.account, self.region = account, region
        self.functions: dict[str, Function] = {}
        self.stacks: dict[str, dict[str, str]] = {}  # stack name -> outputs
        self.evaluators: dict[str, list[str]] = {}  # evaluator name -> Lambda ARN of each version
        self.invocations: list[dict[str, Any]] = []  # {"function", "version", "samples"}
        self.logs: list[str] = []  # what the handlers printed (EMF records, log lines)
        self.jobs: list[dict[str, Any]] = []  # CreateModelCustomizationJob request bodies
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeAws:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def endpoint_environment(self) -> dict[str, str]:
        """What a client process needs: endpoints, region and (fake) credentials."""
        return {"AWS_ENDPOINT_URL_LAMBDA": self.endpoint, "AWS_ENDPOINT_URL_CLOUDFORMATION": self.endpoint,
                "AWS_ENDPOINT_URL_BEDROCK": self.endpoint, "AWS_DEFAULT_REGION": self.region, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing"}  # noqa: S105  # not a secret: the fake accepts anything

    # --- deploying ------------------------------------------------------------------------

    def function_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"

    def deploy(self, stack_name: str, template: dict[str, Any]) -> dict[str, str]:
        """Apply a synthesized template: publish a version per function, move aliases, resolve outputs."""
        resources = template.get("Resources", {})
        physical: dict[str, str] = {"AWS::Region": self.region, "AWS::AccountId": self.account,
                                    "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
                                    "AWS::StackName": stack_name}
        # In CloudFormation's order: what later resources reference is resolved first.
        for apply in (self._apply_roles, self._apply_functions, self._apply_versions, self._apply_aliases,
                      self._apply_live_version_lookups, self._apply_evaluators):
            apply(stack_name, resources, physical)
        outputs = {}
        for key, output in template.get("Outputs", {}).items():
            try:
                outputs[key] = str(resolve_intrinsics(output["Value"], physical))
            except KeyError:
                continue  # an output of a resource this fake does not model
        self.stacks[stack_name] = outputs
        return outputs

    def _apply_roles(self, stack_name: str, resources: dict[str, Any], physical: dict[str, str]) -> None:
        for logical, resource in resources.items():
            if resource["Type"] == "AWS::IAM::Role":
                physical[f"{logical}.Arn"] = f"arn:aws:iam::{self.account}:role/{stack_name}-{logical[:40]}"

    def _apply_functions(self, _stack_name: str, resources: dict[str, Any], physical: dict[str, str]) -> None:
        for logical, resource in resources.items():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::Lambda::Function" and "FunctionName" in props:
                name = props["FunctionName"]
                fn = self.functions.setdefault(name, Function(name, self.function_arn(name)))
                physical[logical] = name
                physical[f"{logical}.Arn"] = fn.arn

    def _apply_versions(self, _stack_name: str, resources: dict[str, Any], physical: dict[str, str]) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        for logical, resource in resources.items():
            if resource["Type"] != "AWS::Lambda::Version":
                continue
            fn_logical = resource.get("Properties", {})["FunctionName"]["Ref"]
            if fn_logical not in physical:
                continue  # a function we do not fake (no fixed name: the evaluator handler)
            fn = self.functions[physical[fn_logical]]
            if logical not in fn.published:  # an unchanged version resource: CloudFormation publishes nothing
                fn.published[logical] = self._publish(fn, resource["Properties"], resources[fn_logical]["Properties"],
                                                      now)
            number = fn.published[logical]
            physical[logical] = f"{fn.arn}:{number}"
            physical[f"{logical}.Version"] = number

    @staticmethod
    def _publish(fn: Function, props: dict[str, Any], fn_props: dict[str, Any], now: str) -> str:
        number = fn.next_version()
        fn.versions[number] = Version(
            number=number, description=props.get("Description", ""),
            environment=dict(fn_props.get("Environment", {}).get("Variables", {})),
            handler=fn_props["Handler"], timeout=int(fn_props.get("Timeout", 3)),
            memory=int(fn_props.get("MemorySize", 128)), last_modified=now,
            code_sha256=uuid.uuid5(uuid.NAMESPACE_URL, f"{fn.name}:{number}").hex,
        )
        return number

    def _apply_aliases(self, _stack_name: str, resources: dict[str, Any], physical: dict[str, str]) -> None:
        for logical, resource in resources.items():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::Lambda::Alias" and props["FunctionName"].get("Ref") in physical:
                fn = self.functions[physical[props["FunctionName"]["Ref"]]]
                version = str(resolve_intrinsics(props["FunctionVersion"], physical))
                fn.aliases[props["Name"]] = version
                physical[logical] = f"{fn.arn}:{props['Name']}"

    def _apply_live_version_lookups(self, _stack_name: str, resources: dict[str, Any],
                                    physical: dict[str, str]) -> None:
        for logical, resource in resources.items():
            if resource["Type"] == "Custom::AWS":  # AwsCustomResource: the pinned version's description
                call = json.loads(resolve_intrinsics(resource["Properties"]["Create"], physical))
                if call.get("action") == "getFunctionConfiguration":
                    fn, _ = self._function(call["parameters"]["FunctionName"])
                    pinned = self._version(fn, call["parameters"]["Qualifier"])  # missing: the deploy fails
                    physical[f"{logical}.Description"] = pinned.description

    def _apply_evaluators(self, _stack_name: str, resources: dict[str, Any], physical: dict[str, str]) -> None:
        for logical, resource in resources.items():
            if resource["Type"] == "Custom::SageMakerEvaluator":  # a new evaluator version per Lambda ARN
                name = resource["Properties"]["EvaluatorName"]
                registered = self.evaluators.setdefault(name, [])
                lambda_arn = resolve_intrinsics(resource["Properties"]["LambdaArn"], physical)
                if not registered or registered[-1] != lambda_arn:
                    registered.append(lambda_arn)
                physical[f"{logical}.EvaluatorArn"] = (
                    f"arn:aws:sagemaker:{self.region}:{self.account}:hub-content/FAKEHUB/JsonDoc/{name}/"
                    f"{len(registered)}.0.0")


    # --- the APIs -------------------------------------------------------------------------

    def _function(self, identifier: str) -> tuple[Function, str | None]:
        """A function name, ARN or qualified ARN -> (function, qualifier in the identifier)."""
        qualifier = None
        match = re.fullmatch(r"arn:aws[a-z-]*:lambda:[^:]+:\d{12}:function:([^:]+)(?::(.+))?", identifier)
        name = identifier
        if match:
            name, qualifier = match.group(1), match.group(2)
        if name not in self.functions:
            raise ApiError(404, "ResourceNotFoundException", f"Function not found: {self.function_arn(name)}")
        return self.functions[name], qualifier

    def _version(self, fn: Function, qualifier: str | None) -> Version:
        number = qualifier or "$LATEST"
        number = fn.aliases.get(number, number)
        if number == "$LATEST":
            number = str(len(fn.versions))
        if number not in fn.versions:
            raise ApiError(404, "ResourceNotFoundException",
                            f"Function not found: {fn.arn}:{qualifier}")
        return fn.versions[number]

    def configuration(self, fn: Function, version: Version) -> dict[str, Any]:
        return {"FunctionName": fn.name, "FunctionArn": f"{fn.arn}:{version.number}", "Runtime": "python3.13",
                "Handler": version.handler, "Version": version.number, "Description": version.description,
                "Timeout": version.timeout, "MemorySize": version.memory, "LastModified": version.last_modified,
                "CodeSha256": version.code_sha256, "Architectures": ["arm64"],
                "Environment": {"Variables": version.environment}}

    def invoke(self, fn: Function, version: Version, payload: bytes, invoked_arn: str) -> tuple[bytes, str | None]:
        handler = fn.override or _load_handler(version.handler)
        if fn.override is None:
            _enter_sandbox(version.handler, (fn.name, version.number))
        try:
            event = json.loads(payload or b"{}")
        except ValueError as exc:
            raise ApiError(400, "InvalidRequestContentException", f"Could not parse request body into json: {exc}") from None
        captured = io.StringIO()
        with _ENV_LOCK:
            saved = dict(os.environ)
            os.environ.update(version.environment)
            try:
                with contextlib.redirect_stdout(captured):
                    result = handler(event, _Context(fn, version, invoked_arn))
                body, error = json.dumps(result).encode(), None
            except Exception as exc:  # what Lambda does with an unhandled exception
                body = json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__}).encode()
                error = "Unhandled"
            finally:
                os.environ.clear()
                os.environ.update(saved)
        self.logs.append(captured.getvalue())
        self.invocations.append({"function": fn.name, "version": version.number,
                                 "samples": len(event) if isinstance(event, list) else None})
        return body, error

    def describe_stacks(self, name: str) -> str:
        if name not in self.stacks:
            raise ApiError(400, "ValidationError", f"Stack with id {name} does not exist", xml=True)
        members = "".join(
            f"<member><OutputKey>{escape(k)}</OutputKey><OutputValue>{escape(v)}</OutputValue></member>"
            for k, v in self.stacks[name].items())
        stack_id = f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{name}/{uuid.uuid5(uuid.NAMESPACE_URL, name)}"
        return (f'<DescribeStacksResponse xmlns="{CFN_NS}"><DescribeStacksResult><Stacks><member>'
                f"<StackName>{escape(name)}</StackName><StackId>{stack_id}</StackId>"
                f"<CreationTime>2026-12-01T00:00:00Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus>"
                f"<Outputs>{members}</Outputs></member></Stacks></DescribeStacksResult>"
                f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></DescribeStacksResponse>")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return type("RequestHandler", (RequestHandler,), {"fake": self})


_HANDLERS: dict[str, Handler] = {}
# Handler path -> the (function, version) whose sandbox its module last played.
_SANDBOXES: dict[str, tuple[str, str]] = {}


def _load_handler(dotted: str) -> Handler:
    lambdas = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lambdas")
    if lambdas not in sys.path:  # the handlers import as they do in Lambda (asset root)
        sys.path.insert(0, lambdas)
    if dotted not in _HANDLERS:
        module, _, name = dotted.rpartition(".")
        _HANDLERS[dotted] = getattr(importlib.import_module(module), name)
    return _HANDLERS[dotted]


def _enter_sandbox(dotted: str, sandbox: tuple[str, str]) -> None:
    """Every function version has its own Lambda sandbox, and a reward runtime reads its
    environment once per cold start: the handler module shared here by several functions
    starts cold when it serves another function or version than last time."""
    if _SANDBOXES.get(dotted) != sandbox:
        runtime = getattr(sys.modules.get(dotted.rpartition(".")[0]), "runtime", None)
        if runtime is not None:
            runtime.scorers.clear()
        _SANDBOXES[dotted] = sandbox


def synthesize(env_name: str, context: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """(stack name, template) of one environment of cdk.json, bundling skipped (as the tests do)."""
    lambdas = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lambdas")
    if lambdas not in sys.path:  # reward_kit, as app.py finds it
        sys.path.insert(0, lambdas)
    from aws_cdk import App

    from stacks.app_builder import build_app, stack_name
    from stacks.config import parse_environments, select_environments

    if context is None:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with open(os.path.join(root, "cdk.json"), encoding="utf-8") as fh:
            context = json.load(fh)["context"]
    app = App(context={**context, "aws:cdk:bundling-stacks": []})
    (env,) = select_environments(parse_environments(context["environments"], context.get("tags")), env_name)
    stacks = build_app(app, [env])
    return stack_name(env), app.synth().get_stack_by_name(stacks[env_name].stack_name).template


def main() -> None:
    """Serve a fake with one environment deployed ``--deploys`` times (the README's walkthrough)."""
    parser = argparse.ArgumentParser(prog="python -m tools.fake_aws", description=main.__doc__)
    parser.add_argument("--env", default="dev")
    parser.add_argument("--earlier", action="append", default=[], metavar="FUNCTION=SPEC.json",
                        help="first deploy these functions with an older reward spec (version 1), then cdk.json's")
    parser.add_argument("--account", default="111122223333")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--rollback", metavar="FUNCTION=VERSION",
                        help="then deploy once more with live_version: VERSION on FUNCTION (a rollback)")
    args = parser.parse_args()
    fake = FakeAws(args.account, args.region)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def context() -> dict[str, Any]:
        with open(os.path.join(root, "cdk.json"), encoding="utf-8") as fh:
            return json.load(fh)["context"]

    if args.earlier:
        older = context()
        for item in args.earlier:
            function, path = item.split("=", 1)
            with open(path, encoding="utf-8") as fh:
                older["environments"][args.env]["reward_functions"][function]["reward_spec"] = json.load(fh)
        fake.deploy(*synthesize(args.env, older))
    name, template = synthesize(args.env)
    fake.deploy(name, template)
    if args.rollback:
        function, version = args.rollback.split("=", 1)
        rolled_back = context()
        rolled_back["environments"][args.env]["reward_functions"][function]["live_version"] = int(version)
        fake.deploy(name, synthesize(args.env, rolled_back)[1])
    fake.start()
    print(" ".join(f"{k}={v}" for k, v in fake.endpoint_environment().items()), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
