"""Bedrock model ids a judge may name, checked at synth (a typo otherwise fails the training job).

Forms (Amazon Bedrock user guide: "Supported foundation models in Amazon Bedrock" and
"Supported Regions and models for inference profiles"):
- a foundation model ``<provider>.<model>:<version>``, e.g. ``amazon.nova-pro-v1:0``
  (optionally a context-window variant ``:<n>k`` after the version, e.g. ``amazon.nova-pro-v1:0:300k``);
- a cross-region inference profile ``<geo>.<provider>.<model>:<version>``, e.g.
  ``us.amazon.nova-pro-v1:0`` or ``global.anthropic.claude-sonnet-4-5-20250929-v1:0``.
A model newer than the providers listed here (or an id in a new form) is accepted as written with
``judge_model_id_unchecked: true``.
"""

from __future__ import annotations

import re

# Providers of the text models Bedrock serves on demand (the prefix of every model id).
PROVIDERS = (
    "ai21", "amazon", "anthropic", "cohere", "deepseek", "google", "meta", "minimax", "mistral", "moonshot",
    "nvidia", "openai", "qwen", "writer",
)
# Geography prefixes of cross-region inference profile ids; "global" routes to any commercial region.
GLOBAL_GEO = "global"
GEOS = ("apac", "au", "ca", "eu", GLOBAL_GEO, "jp", "us", "us-gov")
_MODEL_RE = re.compile(
    r"(?:(?P<geo>[a-z-]+)\.)?(?P<provider>[a-z0-9]+)\.(?P<model>[a-z0-9][a-z0-9.-]*[a-z0-9])"
    r":(?P<version>\d+)(?::\d+k)?"
)
ACCEPTED_FORMS = (
    "'<provider>.<model>:<version>' (e.g. 'amazon.nova-pro-v1:0') or a cross-region inference profile "
    "'<geo>.<provider>.<model>:<version>' (e.g. 'us.amazon.nova-pro-v1:0', 'global.amazon.nova-2-lite-v1:0'), "
    f"geo one of {list(GEOS)}, provider one of {list(PROVIDERS)}"
)


def model_id_problem(model_id: str) -> str | None:
    """What is wrong with ``model_id`` (one phrase), or None when it has a form Bedrock uses."""
    match = _MODEL_RE.fullmatch(model_id)
    if match is None:
        if re.fullmatch(r"(?:[a-z-]+\.)?[a-z0-9]+\.[a-z0-9.-]+", model_id):
            return "has no version suffix (':0' as in 'amazon.nova-pro-v1:0')"
        return "is not in a form Bedrock uses"
    geo, provider = match.group("geo"), match.group("provider")
    if geo is not None and geo not in GEOS:
        return f"has an unknown inference profile prefix {geo!r}"
    if provider not in PROVIDERS:
        return f"has an unknown provider {provider!r}"
    return None
