"""Prices of the cost model (``stacks.cost_model``): dated on-demand prices of Lambda,
CloudWatch Logs and each judge model's Bedrock tokens, and ``--price`` overrides.

PRICES are AWS's published on-demand prices for one region on one date; they change and
differ by region, so every number here can be overridden (``dataclasses.replace`` or the
command line's ``--price name=value``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Iterable, Mapping


@dataclass(frozen=True)
class JudgePrice:
    """One Bedrock model's on-demand token prices, $ per 1,000 tokens, and where they are from."""

    input: float
    output: float
    cache_read: float  # input tokens read from the prompt cache
    cache_write: float  # input tokens written to it
    as_of: str
    source: str


# Amazon Nova: the input and output prices of aws.amazon.com/bedrock/pricing (us-east-1,
# 2025-06). Cache reads at 25% of input (the "75% discount on cache hits" of the Bedrock
# pricing page as third-party summaries quote it in 2026-05, e.g. Nova Pro $0.20 per 1M);
# cache writes at the input price: we could not verify a Nova cache-write price from AWS
# here, and none above input is documented, so the conservative choice.
_NOVA_SOURCE = "Bedrock pricing page; cache read 25% of input (as quoted 2026-05), cache write = input (unverified)"
# Anthropic Claude on Bedrock: input and output prices as third-party summaries of the Bedrock
# pricing page give them (2026-03..05; not checked against the page itself, which is not
# reachable from here); cache writes 1.25x input and reads 0.1x input (Anthropic's prompt
# caching multipliers, which Bedrock applies). Regional endpoints of the 4.5 models cost
# 10% more than global ones: override with --price for yours.
_CLAUDE_SOURCE = "third-party summaries of the Bedrock pricing page (unverified); write 1.25x, read 0.1x input"


def _nova(input_price: float, output_price: float) -> JudgePrice:
    return JudgePrice(input_price, output_price, input_price * 0.25, input_price, "2025-06, cache read 2026-05",
                      _NOVA_SOURCE)


def _claude(input_price: float, output_price: float) -> JudgePrice:
    return JudgePrice(input_price, output_price, input_price * 0.1, input_price * 1.25, "2026-05", _CLAUDE_SOURCE)


@dataclass(frozen=True)
class Prices:
    """On-demand prices in USD. Dated and regional: check the AWS pricing pages for yours.

    Sources (us-east-1, as of ``as_of``): aws.amazon.com/lambda/pricing (requests; arm64
    duration, first tier), aws.amazon.com/cloudwatch/pricing (Logs standard-class ingestion,
    first tier; Lambda's logs get volume tiers beyond 10 TB a month) and
    aws.amazon.com/bedrock/pricing (judge tokens: each ``JudgePrice`` names its date and source).
    """

    region: str = "us-east-1"
    as_of: str = "2025-06"
    lambda_requests_per_million: float = 0.20
    lambda_arm64_gb_second: float = 0.0000133334
    logs_ingestion_per_gb: float = 0.50
    # Bedrock model id (without a cross-region geography prefix) -> its token prices.
    judge_per_1k_tokens: Mapping[str, JudgePrice] = field(
        default_factory=lambda: MappingProxyType(
            {
                "amazon.nova-micro-v1:0": _nova(0.000035, 0.00014),
                "amazon.nova-lite-v1:0": _nova(0.00006, 0.00024),
                "amazon.nova-pro-v1:0": _nova(0.0008, 0.0032),
                "amazon.nova-premier-v1:0": _nova(0.0025, 0.0125),
                "anthropic.claude-3-7-sonnet-20250219-v1:0": _claude(0.003, 0.015),
                "anthropic.claude-sonnet-4-20250514-v1:0": _claude(0.003, 0.015),
                "anthropic.claude-3-5-haiku-20241022-v1:0": _claude(0.0008, 0.004),
                "anthropic.claude-haiku-4-5-20251001-v1:0": _claude(0.001, 0.005),
            }
        )
    )

    def judge_price(self, model_id: str) -> JudgePrice:
        """The model's token prices; a geography prefix (``us.``) is ignored."""
        from stacks.config.judge import is_inference_profile_id  # the one list of geographies

        base = model_id.split(".", 1)[1] if is_inference_profile_id(model_id) else model_id
        try:
            return self.judge_per_1k_tokens[base]
        except KeyError:
            raise ValueError(
                f"no token price for judge model {model_id!r}; known: {sorted(self.judge_per_1k_tokens)} "
                "(add one with --price 'judge:<model id>=<input>,<output>[,<cache read>,<cache write>]')"
            ) from None


PRICES = Prices()


def with_overrides(prices: Prices, overrides: Iterable[str]) -> Prices:
    """``name=value`` overrides, e.g. ``logs_ingestion_per_gb=0.25``, ``region=eu-west-1`` or
    ``judge:amazon.nova-pro-v1:0=0.001,0.004[,0.00025,0.001]`` (input, output[, cache read,
    cache write] $ per 1,000 tokens; without the cache prices, both are the input price: no
    discount assumed)."""
    changes: dict[str, object] = {}
    judge = dict(prices.judge_per_1k_tokens)
    numeric = {f.name for f in fields(Prices)} - {"region", "as_of", "judge_per_1k_tokens"}
    for item in overrides:
        name, sep, value = item.rpartition("=")
        try:
            if not sep or not name:
                raise ValueError
            if name.startswith("judge:"):
                numbers = [float(v) for v in value.split(",")]
                if len(numbers) == 2:
                    numbers += [numbers[0], numbers[0]]
                input_price, output_price, read_price, write_price = numbers  # ValueError unless 2 or 4
                judge[name[len("judge:"):]] = JudgePrice(input_price, output_price, read_price, write_price,
                                                         "override", "--price")
            elif name in ("region", "as_of"):
                changes[name] = value
            elif name in numeric:
                changes[name] = float(value)
            else:
                raise KeyError(name)
        except KeyError:
            raise ValueError(f"--price {item}: unknown price {name!r}; known: {sorted(numeric | {'region', 'as_of'})}") from None
        except ValueError:
            raise ValueError(f"--price {item}: expected name=value "
                             "(judge:<model id>=<input>,<output>[,<cache read>,<cache write>])") from None
    return replace(prices, judge_per_1k_tokens=MappingProxyType(judge), **changes)  # type: ignore[arg-type]
