"""``make dryrun ... ARGS=--fake-judge``: the test suite's fake Bedrock as the dry run's judge.

No credentials, no cost, no network beyond 127.0.0.1. The fake answers every Converse call the
judge grader really builds from your samples (rubric, prompt, reference and response, truncated
as in the Lambda) with a verdict in the format the request asks for (half marks on every score)
and a token usage computed from that request:

- input tokens: the request's text (system prompt and user turn) at ``CHARS_PER_TOKEN``
  characters per token, the rate the synth-time quota check uses (``stacks.judge_capacity``);
- output tokens: the request's ``maxTokens``, what Bedrock reserves against the quota for a
  reply (an upper bound on what a real judge writes).

So the dry run's "per call" numbers are an offline estimate from your real samples (far closer
than the synth's worst case), and its timing is the grader's own cost without Bedrock's
latency. The scores mean nothing. Measure against Bedrock for exact tokens.
"""

from __future__ import annotations

import json
import math
import os
import re
from contextlib import contextmanager
from typing import Any, Iterator

from stacks.judge_capacity import CHARS_PER_TOKEN
from tools.fake_bedrock import FakeBedrock, Reply

FAKE_MODEL_ID = "amazon.nova-pro-v1:0"  # used when JUDGE_MODEL_ID is not set (only the URL sees it)
_CRITERION = re.compile(r'"([^"]+)": <integer 0-(\d+)>')
_SINGLE = re.compile(r'\{"score": <integer 0-(\d+)>')


def request_text(body: dict[str, Any]) -> str:
    system = "".join(block.get("text", "") for block in body.get("system", []) if isinstance(block, dict))
    turns = "".join(block.get("text", "") for message in body.get("messages", []) if isinstance(message, dict)
                    for block in message.get("content", []) if isinstance(block, dict))
    return system + turns


def verdict(body: dict[str, Any]) -> str:
    """Half marks in the reply format the request's system prompt asks for."""
    system = "".join(block.get("text", "") for block in body.get("system", []) if isinstance(block, dict))
    if '{"scores": {' in system:
        scores = {name: int(top) // 2 for name, top in _CRITERION.findall(system.split('{"scores": {', 1)[1])}
        return json.dumps({"scores": scores, "reason": "fake judge: constant verdict"})
    single = _SINGLE.search(system)
    top = int(single.group(1)) if single else 10
    return json.dumps({"score": top // 2, "reason": "fake judge: constant verdict"})


def reply(_index: int, body: dict[str, Any]) -> Reply:
    input_tokens = max(1, math.ceil(len(request_text(body)) / CHARS_PER_TOKEN))
    output_tokens = int(body.get("inferenceConfig", {}).get("maxTokens") or 1)
    return Reply(verdict(body), input_tokens, output_tokens)


_ENV = {
    "AWS_ACCESS_KEY_ID": "fake-judge", "AWS_SECRET_ACCESS_KEY": "fake-judge", "AWS_SESSION_TOKEN": None,
    "AWS_PROFILE": None, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": None,
}


@contextmanager
def fake_judge() -> Iterator[FakeBedrock]:
    """The fake on 127.0.0.1, the process's AWS settings pointed at it; everything restored after."""
    from reward_kit import names
    from reward_kit.graders import judge

    fake = FakeBedrock().start()
    fake.responder = reply
    env = {**_ENV, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": fake.url,
           "AWS_REGION": os.environ.get("AWS_REGION") or "us-east-1",
           names.ENV_JUDGE_MODEL_ID: os.environ.get(names.ENV_JUDGE_MODEL_ID) or FAKE_MODEL_ID}
    saved = {key: os.environ.get(key) for key in env}
    try:
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        judge.reset_clients()  # a client made before would still point at Bedrock
        yield fake
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        judge.reset_clients()
        fake.stop()
