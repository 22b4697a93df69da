"""The dashboard and alarms read only metrics the real handlers emit, and show every score metric.

For every reward function of every synthesized environment (every grader kind in the shipped
config, the test-only judge functions and a [-1, 1] range), the real handler module is
loaded with exactly the environment the stack gives that Lambda, runs a batch built to hit
every failure group the dashboard shows (a well-formed answer, no answer, several answers, each
contract failure, and for a judge: unparseable replies, Bedrock errors, an expired deadline),
and its EMF records are captured from stdout. Then every (namespace, metric, dimensions) the
dashboard body and the alarms reference must be among them, and every per-sample score metric
emitted must be on the dashboard.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from reward_kit import names
from reward_kit.kinds import NEEDS_SANDBOX, spec_needs
from stacks.monitoring import FunctionMetrics
from tests.lambdas.fake_bedrock import Error, _bedrock_server, bedrock  # noqa: F401 - fixtures

Key = tuple[str, str, frozenset[tuple[str, str]]]  # (namespace, metric name, dimensions)


class Context:
    aws_request_id = "req-monitoring"

    def __init__(self, remaining_ms: float) -> None:
        self.remaining_ms = remaining_ms
        self.started = time.monotonic()

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_ms - (time.monotonic() - self.started) * 1000)


def _sample(sample_id: Any, response: Any, reference: Any = "42", **extra: Any) -> dict[str, Any]:
    sample = {"id": sample_id, "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": response}],
              "metadata": {"reference_answer": reference}}
    sample.update(extra)
    return sample


def batch() -> list[Any]:
    """Answers that grade, miss or repeat (with a number, a label and code tests as the
    reference, so each grader kind sees a reference it accepts), and one sample per contract
    failure."""
    graded = [
        _sample(f"{kind}-{ref}", response, ref)
        for ref, right, wrong in (("42", "42", "41"), ("positive", "positive", "negative"))
        for kind, response in (
            ("right", f"The answer is \\boxed{{{right}}}"),
            ("wrong", f"The answer is \\boxed{{{wrong}}}"),
            ("none", "I cannot say."),
            ("several", f"\\boxed{{{wrong}}} or \\boxed{{{right}}}"),
        )
    ]
    return [
        *graded,
        # Code tests as the reference; nothing after the reasoning: no program (no_code).
        _sample("none-code", "<thinking>no answer after this", {"tests": [{"input": "", "output": "42\n"}]}),
        _sample("judge-unparseable", "\\boxed{42} UNPARSEABLE please"),
        _sample("judge-error", "\\boxed{42} ERROR please"),
        "not an object",  # not_an_object
        {"messages": [{"role": "assistant", "content": "42"}], "metadata": {"reference_answer": "42"}},  # missing_id
        _sample(["bad-id"], "42"),  # invalid_id
        {"id": "no-messages", "metadata": {"reference_answer": "42"}},  # missing_messages
        {"id": "bad-messages", "messages": "42", "metadata": {"reference_answer": "42"}},  # invalid_messages
        {"id": "no-assistant", "messages": [{"role": "user", "content": "q"}], "metadata": {"reference_answer": "42"}},
        _sample("bad-content", 42),  # invalid_content
        _sample("empty", ""),  # empty_response
        {"id": "no-reference", "messages": [{"role": "assistant", "content": "\\boxed{42}"}]},  # missing_reference
        _sample("too-long", "x" * 100_001),  # response_too_long
    ]


def judge_reply(index: int, body: dict[str, Any]) -> Any:
    text = json.dumps(body)
    if "UNPARSEABLE" in text:
        return "no JSON here"
    if "ERROR please" in text:
        return Error(400, "ValidationException")
    return '{"score": 7}'


def emitted_metrics(stdout: str) -> set[Key]:
    """(namespace, metric, dimensions) of every EMF record in the captured stdout."""
    found: set[Key] = set()
    for line in stdout.splitlines():
        record = json.loads(line)
        if "_aws" not in record:
            continue
        for directive in record["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dims = frozenset((d, record[d]) for d in dimension_set)
                for metric in directive["Metrics"]:
                    assert metric["Name"] in record
                    found.add((directive["Namespace"], metric["Name"], dims))
    return found


DEPLOYED_VERSION = "7"
EXECUTOR_ARN = "arn:aws:lambda:us-east-1:123456789012:function:rft-code-executor-test:1"


class _DyingExecutor(BaseHTTPRequestHandler):
    """Lambda's Invoke API answering as an executor whose runtime died (a per-sample failure)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        data = json.dumps({"errorMessage": "Runtime exited", "errorType": "Runtime.ExitError"}).encode()
        self.send_response(200)
        self.send_header("X-Amz-Function-Error", "Unhandled")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def _dying_executor(patch: pytest.MonkeyPatch) -> Iterator[None]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DyingExecutor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    patch.setenv("AWS_ENDPOINT_URL_LAMBDA", f"http://localhost:{server.server_address[1]}")
    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_DEFAULT_REGION", "us-east-1"), (names.CODE_EXECUTOR_FUNCTION_ENV, EXECUTOR_ARN)):
        patch.setenv(key, value)
    try:
        yield
    finally:
        server.shutdown()


def _run_function(fm: FunctionMetrics, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                  bedrock_fake: Any) -> set[Key]:
    fn = fm.function
    with monkeypatch.context() as patch:
        for key, value in fn.environment_variables().items():
            patch.setenv(key, value)
        patch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
        patch.setenv(names.ENV_LAMBDA_FUNCTION_VERSION, DEPLOYED_VERSION)  # as Lambda sets it
        if fn.judge is not None:
            patch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock_fake.url)
            bedrock_fake.responder = judge_reply
        module_name = fn.handler.rsplit(".", 1)[0]
        module = importlib.reload(importlib.import_module(module_name))  # the cold start of this Lambda
        # Powertools keeps dimensions in class-level state shared by every Metrics object of the
        # process; a Lambda process has one runtime, so start from a clean slate as a new one does.
        module.runtime.metrics.clear_metrics()
        capsys.readouterr()
        outputs = module.handler(batch(), Context(remaining_ms=600_000))
        assert len(outputs) == len(batch())
        if fn.judge is not None:
            # An invocation whose deadline has passed: the judge's samples time out.
            module.handler([_sample("late", "\\boxed{42}")], Context(remaining_ms=0))
        if NEEDS_SANDBOX in spec_needs(fn.reward_spec):
            # A program whose executor dies under it: that sample's code_executor_error (a cold
            # start of its own: the grader finds its executor when it is built).
            with _dying_executor(patch):
                module = importlib.reload(module)
                module.runtime.metrics.clear_metrics()
                outputs = module.handler([_sample("executor-dies", "```python\nprint(42)\n```",
                                                  {"tests": [{"input": "", "output": "42\n"}]})],
                                         Context(remaining_ms=600_000))
                assert "failure_code_executor_error" in json.dumps(outputs), outputs
        out = capsys.readouterr().out
    # Back to a cold start with the test session's own environment (other tests import it).
    importlib.reload(module)
    module.runtime.metrics.clear_metrics()
    return emitted_metrics(out)


def _unjoin(value: Any) -> str:
    """A DashboardBody as text: Fn::Join parts joined, intrinsics rendered as <...>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_unjoin(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    raise AssertionError(f"unexpected intrinsic in a dashboard body: {value!r}")


def dashboard_bodies(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(_unjoin(r["Properties"]["DashboardBody"]))
            for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]


def dashboard_metrics(body: dict[str, Any]) -> set[Key]:
    found: set[Key] = set()
    for widget in body["widgets"]:
        for entry in widget.get("properties", {}).get("metrics", []):
            fields = [f for f in entry if not isinstance(f, dict)]
            if not fields:
                continue  # a math expression: its inputs are listed as metrics too
            namespace, name, *dims = fields
            assert len(dims) % 2 == 0, entry
            found.add((namespace, name, frozenset(zip(dims[::2], dims[1::2]))))
    return found


def alarm_metrics(template: dict[str, Any]) -> set[Key]:
    found: set[Key] = set()
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        stats = [q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q]
        if "MetricName" in props:
            stats.append(props)
        for metric in stats:
            dims = frozenset((d["Name"], _unjoin(d["Value"])) for d in metric.get("Dimensions", []))
            found.add((metric["Namespace"], metric["MetricName"], dims))
    return found


@pytest.fixture(scope="module")
def referenced(synth: Any) -> dict[str, set[Key]]:
    """env -> every metric the dashboard and the alarms of that environment reference."""
    result = {}
    for env, template in synth.templates.items():
        keys = alarm_metrics(template)
        for body in dashboard_bodies(template):
            keys |= dashboard_metrics(body)
        result[env] = keys
    return result


def _functions(synth: Any) -> Iterator[tuple[str, FunctionMetrics]]:
    for env, stack in synth.stacks.items():
        for fn in stack.config.reward_functions:
            yield env, FunctionMetrics(fn)


def test_the_environments_cover_every_shipped_grader_kind_and_a_signed_range(synth: Any) -> None:
    from stacks.monitoring.reward_metrics import leaf_kinds

    kinds = {kind for _, fm in _functions(synth) for kind in leaf_kinds(fm.function.reward_spec)}
    assert {"label", "numeric", "regex", "judge"} <= kinds
    assert any(fm.function.reward_spec["grader"] == "multi" for _, fm in _functions(synth))
    assert any(fm.normalized for _, fm in _functions(synth))


def test_dashboards_and_alarms_read_only_emitted_metrics(
    synth: Any, referenced: dict[str, set[Key]], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], bedrock: Any,  # noqa: F811 - fixture
) -> None:
    checked = 0
    for env, fm in _functions(synth):
        emitted = _run_function(fm, monkeypatch, capsys, bedrock)
        service = frozenset({(names.METRIC_DIMENSION_SERVICE, fm.service)})
        assert emitted, f"{fm.function.name}: no EMF record captured"
        versioned = service | {(names.METRIC_DIMENSION_VERSION, DEPLOYED_VERSION)}
        # Every metric twice: the roll-up by service, and by service and the version that ran.
        assert {dims for _, _, dims in emitted} == {service, versioned}, "every record carries the function's service"
        assert {name for _, name, dims in emitted if dims == service} == {
            name for _, name, dims in emitted if dims == versioned}
        ours = {key for key in referenced[env] if key[0] == names.METRIC_NAMESPACE and key[2] == service}
        assert ours, f"{env}.{fm.function.name}: the dashboard shows nothing of this function"
        missing = sorted(name for _, name, _ in ours - emitted)
        assert not missing, f"{env}.{fm.function.name}: referenced but never emitted: {missing}"
        # The live-version panels read the version dimension (a token: the deployed version's number).
        by_version = {key[1] for key in referenced[env] if key[0] == names.METRIC_NAMESPACE
                      and dict(key[2]).get(names.METRIC_DIMENSION_SERVICE) == fm.service
                      and names.METRIC_DIMENSION_VERSION in dict(key[2])}
        assert by_version, f"{env}.{fm.function.name}: no panel of the live version"
        assert by_version <= {name for _, name, dims in emitted if dims == versioned}

        # Every per-sample score series it emitted is on the dashboard.
        per_sample = {key for key in emitted if key[2] == service
                      and (key[1] == names.METRIC_AGGREGATE_REWARD or key[1].startswith(
                          (names.METRIC_REWARD_PREFIX, names.METRIC_NORMALIZED_PREFIX)))}
        assert per_sample
        dashboard = set().union(*(dashboard_metrics(b) for b in dashboard_bodies(synth.templates[env])))
        assert per_sample <= dashboard, sorted(k[1] for k in per_sample - dashboard)
        assert fm.normalized == any(k[1].startswith(names.METRIC_NORMALIZED_PREFIX) for k in emitted)
        checked += 1
    assert checked == sum(len(stack.config.reward_functions) for stack in synth.stacks.values())


def test_every_referenced_metric_is_ours_or_the_lambdas(referenced: dict[str, set[Key]]) -> None:
    for env, keys in referenced.items():
        namespaces = {namespace for namespace, _, _ in keys}
        assert namespaces == {names.METRIC_NAMESPACE, "AWS/Lambda"}, env
        for namespace, _, dims in keys:
            expected = names.METRIC_DIMENSION_SERVICE if namespace == names.METRIC_NAMESPACE else "FunctionName"
            allowed = [{expected}, {expected, names.METRIC_DIMENSION_VERSION}] if namespace == names.METRIC_NAMESPACE \
                else [{expected}]
            assert {d for d, _ in dims} in allowed
