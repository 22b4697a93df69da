"""RewardMonitoring: one CloudWatch dashboard per environment, its alarms, and their SNS topic.

Per reward function, in reading order: a header, the reward panels (``dashboard.py``), the
Lambda health panels, and (with a judge) the judge panels. Alarms (``alarms.py`` and the
Lambda health alarms here) notify one SNS topic encrypted with a customer-managed KMS key
whose key policy lets CloudWatch use it; ``alarm_email`` subscribes to the topic. It owns
its stack outputs: ``DashboardUrl`` and ``AlarmTopicArn``.
"""

from __future__ import annotations

from typing import Mapping

from aws_cdk import Aws, CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.config import EnvironmentConfig

from . import alarms as reward_alarms
from .dashboard import DASHBOARD_PERIOD, PANEL_HEIGHT, PANEL_WIDTH, panel, reward_panels, section_header
from .reward_metrics import FunctionMetrics

DASHBOARD_PREFIX = "NovaRftRewards"
PANELS_PER_ROW = 24 // PANEL_WIDTH
CLOUDWATCH = iam.ServicePrincipal("cloudwatch.amazonaws.com")


def dashboard_name(environment: str) -> str:
    return f"{DASHBOARD_PREFIX}-{environment}"


def dashboard_url(dashboard: str) -> str:
    return f"https://{Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}#dashboards:name={dashboard}"


def _rows(panels: list[cw.Column]) -> list[cw.Row]:
    return [cw.Row(*panels[i : i + PANELS_PER_ROW]) for i in range(0, len(panels), PANELS_PER_ROW)]


class RewardMonitoring(Construct):
    """Dashboard and alarms of one environment's reward functions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentConfig,
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        """``functions``: reward function name (cdk.json) -> its Lambda."""
        super().__init__(scope, construct_id)
        self.config = environment
        self.alarms: list[cw.Alarm] = []
        self.topic: sns.Topic | None = None
        alarms_config = environment.alarms
        if alarms_config.enabled:
            self.topic = self._alarm_topic()

        self.dashboard = cw.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name(environment.name),
            default_interval=Duration.hours(3),
            period_override=cw.PeriodOverride.INHERIT,
        )
        for fn in environment.reward_functions:
            fm = FunctionMetrics(fn)
            function_scope = Construct(self, fn.construct_name)
            lambda_fn = functions[fn.name]
            self.dashboard.add_widgets(section_header(fm))
            for row in _rows(reward_panels(fm) + self._lambda_panels(fm, lambda_fn)):
                self.dashboard.add_widgets(row)
            if alarms_config.enabled:
                self._add_alarms(function_scope, fm, lambda_fn)

        if self.topic is not None:
            action = cw_actions.SnsAction(self.topic)
            for alarm in self.alarms:
                alarm.add_alarm_action(action)
        self._add_outputs()

    # --- topic ------------------------------------------------------------------------------

    def _alarm_topic(self) -> sns.Topic:
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"Encrypts the reward alarm topic of {self.config.name}",
            enable_key_rotation=True,
        )
        # CloudWatch alarms publish to an encrypted topic only when the key lets them (an
        # AWS-managed alias/aws/sns key cannot): Decrypt and GenerateDataKey for CloudWatch.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToUseTheKey",
                principals=[CLOUDWATCH],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
            )
        )
        topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"Nova RFT reward alarms ({self.config.name})",
            master_key=key,
            enforce_ssl=True,
        )
        # The topic policy (created for enforce_ssl) replaces the default one: allow this
        # account's alarms to publish, and nothing else.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsAlarmsToPublish",
                principals=[CLOUDWATCH],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"},
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )
        if self.config.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(self.config.alarm_email))
        return topic

    # --- Lambda health ----------------------------------------------------------------------

    def _lambda_panels(self, fm: FunctionMetrics, lambda_fn: lambda_.IFunction) -> list[cw.Column]:
        fn = fm.function
        period = DASHBOARD_PERIOD
        calls = cw.GraphWidget(
            title=f"{fn.name} Lambda invocations, errors, throttles",
            left=[lambda_fn.metric_invocations(period=period, label="invocations")],
            right=[lambda_fn.metric_errors(period=period, label="errors"),
                   lambda_fn.metric_throttles(period=period, label="throttles")],
            right_y_axis=cw.YAxisProps(min=0, show_units=False),
            width=PANEL_WIDTH,
            height=PANEL_HEIGHT,
        )
        timeout_ms = fn.timeout_seconds * 1000
        duration = cw.GraphWidget(
            title=f"{fn.name} Lambda duration p99 vs timeout (ms)",
            left=[lambda_fn.metric_duration(period=period, statistic=cw.Stats.percentile(99), label="p99"),
                  lambda_fn.metric_duration(period=period, statistic=cw.Stats.MAXIMUM, label="max")],
            left_annotations=[cw.HorizontalAnnotation(value=timeout_ms, label="timeout", color=cw.Color.RED)],
            left_y_axis=cw.YAxisProps(min=0, max=timeout_ms, show_units=False),
            width=PANEL_WIDTH,
            height=PANEL_HEIGHT,
        )
        concurrency = cw.GraphWidget(
            title=f"{fn.name} Lambda concurrent executions vs reserved",
            left=[lambda_fn.metric("ConcurrentExecutions", period=period, statistic=cw.Stats.MAXIMUM, label="max")],
            left_annotations=[cw.HorizontalAnnotation(value=fn.reserved_concurrency, label="reserved concurrency",
                                                      color=cw.Color.RED)],
            left_y_axis=cw.YAxisProps(min=0, show_units=False),
            width=PANEL_WIDTH,
            height=PANEL_HEIGHT,
        )
        return [
            panel("Errors mean the trainer got no rewards for a batch; throttles mean the reserved "
                  "concurrency is too small for the evaluation rate.", calls),
            panel("p99 close to the timeout: slow graders or a slow judge; samples past the deadline "
                  "score the minimum.", duration),
            panel("At the reserved line, further invocations are throttled: raise "
                  "target_evaluations_per_second or samples_per_invocation.", concurrency),
        ]

    # --- alarms -----------------------------------------------------------------------------

    def _add_alarms(self, scope: Construct, fm: FunctionMetrics, lambda_fn: lambda_.IFunction) -> None:
        config = self.config.alarms
        fn = fm.function
        period = Duration.minutes(config.period_minutes)
        name = fn.function_name
        self.alarms += [
            cw.Alarm(
                scope, "Errors",
                alarm_name=f"{name}-errors",
                alarm_description=f"{fn.name}: Lambda errors above {config.errors_threshold} in "
                f"{config.period_minutes} minutes (the trainer got no rewards for those batches).",
                metric=lambda_fn.metric_errors(period=period, statistic=cw.Stats.SUM),
                threshold=config.errors_threshold,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            cw.Alarm(
                scope, "Throttles",
                alarm_name=f"{name}-throttles",
                alarm_description=f"{fn.name}: Lambda throttles above {config.throttles_threshold} in "
                f"{config.period_minutes} minutes (reserved concurrency {fn.reserved_concurrency} too small).",
                metric=lambda_fn.metric_throttles(period=period, statistic=cw.Stats.SUM),
                threshold=config.throttles_threshold,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            cw.Alarm(
                scope, "Duration",
                alarm_name=f"{name}-duration",
                alarm_description=f"{fn.name}: Lambda duration p99 above {config.duration_timeout_fraction:g} x "
                f"the {fn.timeout_seconds} s timeout in {config.period_minutes} minutes.",
                metric=lambda_fn.metric_duration(period=period, statistic=cw.Stats.percentile(99)),
                threshold=round(config.duration_timeout_fraction * fn.timeout_seconds * 1000),
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            reward_alarms.failure_share_alarm(scope, fm, config),
            reward_alarms.collapse_alarm(scope, fm, config),
        ]
        judge = reward_alarms.judge_failure_share_alarm(scope, fm, config)
        if judge is not None:
            self.alarms.append(judge)

    # --- outputs ----------------------------------------------------------------------------

    def _add_outputs(self) -> None:
        stack = Stack.of(self)
        CfnOutput(stack, "DashboardUrl", value=dashboard_url(self.dashboard.dashboard_name),
                  description="CloudWatch dashboard of the reward distributions and function health")
        if self.topic is not None:
            CfnOutput(stack, "AlarmTopicArn", value=self.topic.topic_arn,
                      description="SNS topic the reward alarms notify (subscribe more endpoints here)")
