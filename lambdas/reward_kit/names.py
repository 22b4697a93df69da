"""Names shared by the Lambda runtime and the CDK app: one source of truth.

The CDK stacks import this module (with ``lambdas/`` on ``sys.path``) to set environment
variables and to build dashboards/alarms on the metrics the runtime emits, so renaming
something here renames it on both sides.
"""

# --- environment variables read by the reward Lambdas -------------------------------
ENV_REWARD_SPEC = "REWARD_SPEC"  # JSON reward spec (see reward_kit.spec)
ENV_REWARD_FUNCTION_NAME = "REWARD_FUNCTION_NAME"  # logical name from cdk.json, e.g. "sentiment"
ENV_LOG_SAMPLE_TEXT = "REWARD_LOG_SAMPLE_TEXT"  # "true" logs response/reference text (debug only)
ENV_MAX_RESPONSE_CHARS = "REWARD_MAX_RESPONSE_CHARS"  # responses longer than this are not graded
ENV_JUDGE_MODEL_ID = "JUDGE_MODEL_ID"  # RLAIF: Bedrock model or inference-profile id
ENV_JUDGE_MAX_CONCURRENCY = "JUDGE_MAX_CONCURRENCY"  # RLAIF: parallel judge calls per invocation
ENV_JUDGE_CACHE_ENTRIES = "JUDGE_CACHE_ENTRIES"  # RLAIF: per-container result cache size (0/unset: off)
ENV_JUDGE_PROMPT_CACHING = "JUDGE_PROMPT_CACHING"  # RLAIF: "false" sends no Bedrock cachePoint (default on)
ENV_JUDGE_PROMPT_CACHE_MIN_TOKENS = "JUDGE_PROMPT_CACHE_MIN_TOKENS"  # RLAIF: minimum prefix per checkpoint (override)
ENV_CODE_SANDBOX_MAX_PROCESSES = "CODE_SANDBOX_MAX_PROCESSES"  # code: sandboxed children at once
ENV_CODE_SANDBOX_PYTHON = "CODE_SANDBOX_PYTHON"  # code: interpreter for the children (default: the handler's)

# Powertools reads these itself; listed so the stacks set them by name.
ENV_POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
ENV_POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
ENV_POWERTOOLS_LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"
# Lambda sets these from the function's logging config (JSON format only); read, never set.
ENV_LAMBDA_LOG_LEVEL = "AWS_LAMBDA_LOG_LEVEL"  # the application log level
ENV_LAMBDA_LOG_FORMAT = "AWS_LAMBDA_LOG_FORMAT"  # JSON or TEXT
ENV_LAMBDA_EXECUTION_ENV = "AWS_EXECUTION_ENV"  # the runtime, e.g. AWS_Lambda_python3.13; read, never set

# --- CloudWatch metrics (EMF) ----------------------------------------------------------
METRIC_NAMESPACE = "NovaRFT/Rewards"
# Powertools adds the service name as this dimension to every metric.
METRIC_DIMENSION_SERVICE = "service"

# One EMF record per invocation (reward_kit.invocation_record) carries all of these; the
# names are the record's keys, so they are short. Dashboards and alarms must use these
# constants and the helpers below, never literals.
METRIC_AGGREGATE_REWARD = "Reward"  # aggregate reward, one value per sample, in the output range
METRIC_REWARD_PREFIX = "Reward_"  # + reward dimension name, one value per sample (multi specs only)
METRIC_SAMPLES = "Samples"  # samples received per invocation
METRIC_FAILED_SAMPLES = "Failed"  # samples that got the minimum score with a reason
METRIC_FAILURE_PREFIX = "Failure_"  # + failure reason code, count per invocation (only when > 0)
METRIC_BATCH_SECONDS = "Seconds"  # wall time to score one invocation's batch
# metrics_list entries left out so the response fits Lambda's 6 MB (only when some were).
METRIC_DROPPED_DIAGNOSTICS = "DroppedDiagnostics"  # type Metric entries
METRIC_DROPPED_REWARD_ENTRIES = "DroppedRewardEntries"  # per-dimension type Reward entries
# Percentiles are unavailable for a metric with any negative value (CloudWatch user guide:
# CloudWatch statistics definitions; CloudWatch API reference: GetMetricStatistics): a spec whose range goes below 0 also publishes each per-sample reward metric scaled to 0..1.
METRIC_NORMALIZED_PREFIX = "Norm_"  # + a per-sample reward metric name, e.g. Norm_Reward

# Judge (RLAIF) metrics, one set per invocation of a function whose spec has a judge.
METRIC_JUDGE_CALLS = "JudgeCalls"  # judge calls made (one per distinct request; retries not counted)
METRIC_JUDGE_CALL_SECONDS = "JudgeCallSeconds"  # one value per call: wall time including retries
METRIC_JUDGE_RETRIES = "JudgeRetries"  # attempts after the first (HTTP requests = calls + retries)
METRIC_JUDGE_THROTTLES = "JudgeThrottles"  # attempts answered 429 ThrottlingException
METRIC_JUDGE_ERROR_PREFIX = "JudgeError_"  # + error code: calls that failed after their retries
METRIC_JUDGE_ABANDONED = "JudgeAbandoned"  # calls still running at the deadline (samples: judge_timeout)
METRIC_JUDGE_INPUT_TOKENS = "JudgeInputTokens"  # Converse usage.inputTokens, summed
METRIC_JUDGE_OUTPUT_TOKENS = "JudgeOutputTokens"  # Converse usage.outputTokens, summed
METRIC_JUDGE_DEDUPLICATED = "JudgeDeduplicated"  # samples that shared another sample's call in the batch
METRIC_JUDGE_CACHE_HITS = "JudgeCacheHits"  # samples answered by the per-container cache (off by default)
# Bedrock prompt caching: Converse usage.cacheReadInputTokens / cacheWriteInputTokens, summed.
# usage.inputTokens (JudgeInputTokens) counts only the uncached rest of the input.
METRIC_JUDGE_CACHE_READ_TOKENS = "JudgeCacheReadTokens"
METRIC_JUDGE_CACHE_WRITE_TOKENS = "JudgeCacheWriteTokens"

# Summary fields of the record that are not metrics (Logs Insights reads them).
SUMMARY_MEAN = "mean"  # mean aggregate reward of the batch; only when it has 2+ samples
SUMMARY_SPEC_HASH = "spec_hash"  # reward_kit.spec.spec_hash of the spec that scored (DEBUG line; version description)


def reward_metric_name(dimension: str) -> str:
    """Metric name for one reward dimension, e.g. ``Reward_accuracy``."""
    return f"{METRIC_REWARD_PREFIX}{dimension}"


def judge_error_metric_name(code: str) -> str:
    """Metric name counting judge calls that failed with one error code, e.g. ``JudgeError_ThrottlingException``."""
    return f"{METRIC_JUDGE_ERROR_PREFIX}{code}"
def normalized_metric_name(metric: str) -> str:
    """The 0..1 copy of a per-sample reward metric, e.g. ``Norm_Reward``."""
    return f"{METRIC_NORMALIZED_PREFIX}{metric}"


def publishes_normalized(output_range: tuple[float, float]) -> bool:
    """Whether a spec with this output range also publishes the 0..1 series (lo < 0)."""
    return output_range[0] < 0


def distribution_metric_names(dimensions: list[str] | tuple[str, ...]) -> list[str]:
    """The per-sample reward metrics a function with these reward dimensions emits.

    ``Reward`` always; ``Reward_<dimension>`` only with two or more dimensions (a ``multi``
    spec): a single grader's one dimension IS the aggregate, value for value, and writing it
    twice would double the bytes of every sample.
    """
    if len(dimensions) < 2:
        return [METRIC_AGGREGATE_REWARD]
    return [METRIC_AGGREGATE_REWARD, *(reward_metric_name(d) for d in dimensions)]


def failure_metric_name(reason: str) -> str:
    """Metric name counting one failure reason, e.g. ``Failure_no_assistant_message``."""
    return f"{METRIC_FAILURE_PREFIX}{reason}"


CODE_EXECUTOR_FUNCTION_ENV = "CODE_EXECUTOR_FUNCTION"  # ARN (qualified) of the environment's code executor function


# --- Lambda versions: the stacks publish them, the operator tools (ops/) read them back -------
LIVE_ALIAS = "live"  # the alias that follows the latest version, or live_version after a rollback
_VERSION_DESCRIPTION_PREFIX = "reward spec "


def version_description(spec_hash: str, function: str, environment: str) -> str:
    """A published version's description: ``reward spec <hash> (<function>, <env>)``."""
    return f"{_VERSION_DESCRIPTION_PREFIX}{spec_hash} ({function}, {environment})"


def spec_hash_of_version(description: str) -> str | None:
    """The spec hash in a version's description (None for a version described otherwise)."""
    if not description.startswith(_VERSION_DESCRIPTION_PREFIX):
        return None
    words = description[len(_VERSION_DESCRIPTION_PREFIX):].split(" ")
    return words[0] or None


# --- metrics by function version, and the judge's criteria -----------------------------------
# Lambda sets this in every sandbox (a version number, or $LATEST): read, never set.
ENV_LAMBDA_FUNCTION_VERSION = "AWS_LAMBDA_FUNCTION_VERSION"
# Every metric is also published with this dimension next to ``service`` (EMF dimension sets
# [service] and [service, version]): the roll-up, and one series per version.
METRIC_DIMENSION_VERSION = "version"
METRIC_CRITERION_PREFIX = "Criterion_"  # + criterion (or <component>_<criterion>), one value per judged sample


def criterion_metric_name(criterion: str) -> str:
    """The per-sample series of one judge criterion, e.g. ``Criterion_clarity``."""
    return f"{METRIC_CRITERION_PREFIX}{criterion}"
