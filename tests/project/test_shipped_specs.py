"""The reward specs shipped in cdk.json reward what their prompts ask for, and not hacks.

A spec that can never give full marks (e.g. a format check the expected answer never
matches) trains nothing useful; this pins each shipped function's behaviour on canonical
answers.
"""

from __future__ import annotations

import copy

import pytest

from reward_kit.scoring import Scorer
from stacks.config import parse_environments
from tests.cdk_context import CDK_CONTEXT

ENVS = parse_environments(copy.deepcopy(CDK_CONTEXT["environments"]))

# (function, reference, correct answer, wrong but well-formatted answer, hack)
CASES = {
    "sentiment": (
        "positive",
        "<thinking>増収増益で前向きな記述。</thinking>\n<solution>\\boxed{positive}</solution>",
        "<thinking>減少とある。</thinking>\n<solution>\\boxed{negative}</solution>",
        "\\boxed{positive} \\boxed{negative} \\boxed{neutral}",
    ),
    "gsm8k": (
        "72",
        "<thinking>48 / 2 = 24; 48 + 24 = 72</thinking>\nNatalia sold 72 clips.\n#### 72",
        "<thinking>48 + 48 = 96</thinking>\nShe sold 96 clips.\n#### 96",
        "#### 72\n#### 96",
    ),
}


def score(spec: dict, reference: str, response: str) -> float:
    sample = {
        "id": "s",
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": response}],
        "metadata": {"reference_answer": {"answer": reference}},
    }
    return Scorer(spec).score_event([sample]).outputs[0]["aggregate_reward_score"]


@pytest.mark.parametrize("env", list(ENVS))
@pytest.mark.parametrize("function", list(CASES))
def test_shipped_spec_rewards_the_asked_for_answer_and_not_hacks(env: str, function: str) -> None:
    spec = ENVS[env].function(function).reward_spec
    reference, correct, wrong, hack = CASES[function]
    assert score(spec, reference, correct) == 1.0
    assert score(spec, reference, wrong) < 0.5  # format credit at most, never close to a right answer
    assert score(spec, reference, hack) < 0.5
