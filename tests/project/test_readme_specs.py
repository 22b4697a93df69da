"""The reward specs shown in the README are valid: users copy them."""

from __future__ import annotations

import json
import re

import pytest

from reward_kit.spec import validate_spec
from tests import ROOT

README = ROOT / "README.md"


def readme_specs() -> list[dict]:
    specs = []
    decoder = json.JSONDecoder()
    for block in re.findall(r"```json\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL):
        text = block.strip()
        if not text.startswith("{"):
            continue  # a cdk.json fragment, not a spec
        position = 0
        while position < len(text):
            obj, position = decoder.raw_decode(text, position)
            while position < len(text) and text[position].isspace():
                position += 1
            if "grader" in obj:
                specs.append(obj)
    return specs


SPECS = readme_specs()


def test_the_readme_shows_a_spec_per_main_grader_kind() -> None:
    kinds = {spec["grader"] for spec in SPECS}
    assert {"label", "numeric", "multi", "judge"} <= kinds, kinds


@pytest.mark.parametrize("spec", SPECS, ids=[spec["grader"] for spec in SPECS])
def test_readme_spec_validates(spec: dict) -> None:
    validate_spec(spec)
