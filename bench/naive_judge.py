"""The article's approach to an LLM-judged reward, as a baseline for ``make bench``: one
Converse call per sample, one after the other, a client created on first use inside the
handler, the score read as the first number in the reply. Not used by any Lambda."""

from __future__ import annotations

import json
import os
import re
from typing import Any

_client: Any = None


def lambda_handler(event: list[dict[str, Any]], context: Any) -> list[dict[str, Any]]:
    global _client
    if _client is None:
        import boto3

        _client = boto3.client("bedrock-runtime")
    model_id = os.environ["JUDGE_MODEL_ID"]
    outputs = []
    for sample in event:
        response_text = sample["messages"][-1]["content"]
        reference = (sample.get("metadata") or {}).get("reference_answer")
        prompt = f"Rate this response from 0 to 10.\nReference: {reference}\nResponse: {response_text}"
        reply = _client.converse(
            modelId=model_id,
            messages=[{"role": "user", "content": [{"text": prompt}]}],
            inferenceConfig={"maxTokens": 512, "temperature": 0},
        )
        text = reply["output"]["message"]["content"][0]["text"]
        match = re.search(r"\d+(?:\.\d+)?", text)
        score = float(match.group()) / 10 if match else 0.0
        outputs.append({"id": sample["id"], "aggregate_reward_score": score,
                        "metrics_list": [{"name": "judge", "value": score, "type": "Reward"}]})
    print(json.dumps({"samples": len(outputs)}))
    return outputs
