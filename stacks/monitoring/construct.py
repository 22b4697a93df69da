"""RewardMonitoring: one CloudWatch dashboard per environment, its alarms, and their SNS topic.

Per reward function, in reading order: a header, the reward panels (``dashboard.py``), the
Lambda health panels, and (with a judge) the judge panels. Alarms (``alarms.py`` and the
Lambda health alarms here) notify one SNS topic encrypted with a customer-managed KMS key
whose key policy lets CloudWatch use it; ``alarm_email`` subscribes to the topic. It owns
its stack outputs: ``DashboardUrl`` and ``AlarmTopicArn``.
"""

from __future__ import annotations

from typing import Mapping, cast

import cdk_monitoring_constructs as cmc
from aws_cdk import Aws, CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.config import DeploymentConfig, EnvironmentConfig

from . import alarms as reward_alarms
from .by_version import criteria_panels, version_panels
from .dashboard import DASHBOARD_PERIOD, PANEL_HEIGHT, PANEL_WIDTH, panel, reward_panels, section_header
from .reward_metrics import FunctionMetrics

PANELS_PER_ROW = 24 // PANEL_WIDTH
CLOUDWATCH = iam.ServicePrincipal("cloudwatch.amazonaws.com")
KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt", "kms:DeleteAlias",
    "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation",
    "kms:Encrypt", "kms:GenerateDataKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListAliases",
    "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListKeyRotations", "kms:ListResourceTags", "kms:PutKeyPolicy",
    "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:RetireGrant", "kms:RevokeGrant", "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)  # fmt: skip
ALARM_SEVERITY = "Critical"  # cdk-monitoring-constructs' alarm name suffix


def alarm_name_prefix(environment: str, deployment: DeploymentConfig | None = None) -> str:
    """The environment's stack name, so with its name prefix/suffix (a second copy's alarms must
    not collide: alarm names are unique per account and region)."""
    return (deployment or DeploymentConfig()).stack_name(environment)


def dashboard_name(environment: str, deployment: DeploymentConfig | None = None) -> str:
    """The environment's stack name: dashboard names are unique per account, and the
    environment's name prefix/suffix apply."""
    return (deployment or DeploymentConfig()).stack_name(environment)


def dashboard_url(dashboard: str) -> str:
    return f"https://{Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}#dashboards:name={dashboard}"


def _rows(panels: list[cw.IWidget]) -> list[cw.IWidget]:
    return [cast(cw.IWidget, cw.Row(*panels[i : i + PANELS_PER_ROW])) for i in range(0, len(panels), PANELS_PER_ROW)]


class RewardMonitoring(Construct):
    """Dashboard and alarms of one environment's reward functions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentConfig,
        functions: Mapping[str, lambda_.IFunction],
        code_executor: lambda_.IFunction | None = None,
        live_versions: Mapping[str, str] | None = None,
    ) -> None:
        """``functions``: reward function name (cdk.json) -> its Lambda; ``code_executor``: the
        environment's code executor, when it has code functions (a health section of its own);
        ``live_versions``: -> the version number its outputs name (a token; without it, no
        by-version panels)."""
        super().__init__(scope, construct_id)
        self.config = environment
        self.health_alarms: list[cw.Alarm] = []  # cdk-monitoring-constructs' (errors, throttles, p99)
        self.reward_alarms: list[cw.Alarm] = []  # ours (failure shares, collapse)
        self.topic: sns.Topic | None = self._alarm_topic() if environment.alarms.enabled else None
        self.facade = self._build_facade()
        self.dashboard = cw.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name(environment.name, environment.deployment),
            default_interval=Duration.hours(3),
            period_override=cw.PeriodOverride.INHERIT,
        )
        for fn in environment.reward_functions:
            self._function_section(FunctionMetrics(fn), functions[fn.name],
                                   None if live_versions is None else live_versions[fn.name])
        if code_executor is not None:
            self._code_executor_section(code_executor)
        if self.topic is not None:
            action = cw_actions.SnsAction(self.topic)
            for alarm in self.reward_alarms:
                alarm.add_alarm_action(action)
        self._add_outputs()

    def _build_facade(self) -> cmc.MonitoringFacade:
        """cdk-monitoring-constructs for the generic Lambda health widgets and alarms; it creates
        no dashboard of its own: its widgets go into ours."""
        environment = self.config
        return cmc.MonitoringFacade(
            self,
            "LambdaHealth",
            alarm_factory_defaults=cmc.AlarmFactoryDefaults(
                alarm_name_prefix=alarm_name_prefix(environment.name, environment.deployment),
                actions_enabled=True,
                action=cmc.SnsAlarmActionStrategy(on_alarm_topic=self.topic) if self.topic else None,
                evaluation_periods=1,
                datapoints_to_alarm=1,
            ),
            metric_factory_defaults=cmc.MetricFactoryDefaults(
                period=Duration.minutes(environment.alarms.period_minutes)),
            dashboard_factory=cmc.DefaultDashboardFactory(
                self, "NoDashboards", dashboard_name_prefix=dashboard_name(environment.name, environment.deployment),
                create_dashboard=False, create_summary_dashboard=False, create_alarm_dashboard=False,
            ),
        )

    def _function_section(self, fm: FunctionMetrics, lambda_fn: lambda_.IFunction, live_version: str | None) -> None:
        """One reward function: header, reward panels, by-version panels (when the live version
        is known), criteria panels, Lambda health; its reward alarms when alarms are on."""
        function_scope = Construct(self, fm.function.construct_name)
        self.dashboard.add_widgets(section_header(fm))
        panels = reward_panels(fm)
        if live_version is not None:
            panels += version_panels(fm, live_version)
        panels += criteria_panels(fm)
        for row in _rows(panels):
            self.dashboard.add_widgets(row)
        self.dashboard.add_widgets(*self._lambda_health(fm, lambda_fn))
        if self.config.alarms.enabled:
            self._add_reward_alarms(function_scope, fm)

    # --- topic ------------------------------------------------------------------------------

    def _alarm_topic(self) -> sns.Topic:
        # CDK's default key policy gives the account kms:*; this one names each action (no
        # wildcard actions anywhere), keeping PutKeyPolicy so the account can always change it.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"Encrypts the reward alarm topic of {self.config.name}",
            enable_key_rotation=True,
            policy=iam.PolicyDocument(statements=[
                iam.PolicyStatement(
                    sid="AccountAdministersTheKey",
                    principals=[iam.AccountRootPrincipal()],
                    actions=list(KEY_ADMIN_ACTIONS),
                    resources=["*"],  # in a key policy, "*" is this key
                ),
                # CloudWatch alarms publish to an encrypted topic only when the key lets them (an
                # AWS-managed alias/aws/sns key cannot): Decrypt and GenerateDataKey for CloudWatch.
                iam.PolicyStatement(
                    sid="AllowCloudWatchAlarmsToUseTheKey",
                    principals=[CLOUDWATCH],
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=["*"],
                ),
            ]),
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

    def _lambda_health(self, fm: FunctionMetrics, lambda_fn: lambda_.IFunction) -> list[cw.IWidget]:
        """cdk-monitoring-constructs' Lambda segment (TPS, latency, errors, throttles, invocations,
        with the errors/throttles/p99 alarms when enabled), then our two panels that set the
        function's own limits against its metrics: the timeout and the reserved concurrency."""
        fn = fm.function
        config = self.config.alarms
        alarms: dict[str, object] = {}
        if config.enabled:
            alarms = {
                "add_fault_count_alarm": {ALARM_SEVERITY: cmc.ErrorCountThreshold(max_error_count=config.errors_threshold)},
                "add_throttles_count_alarm": {
                    ALARM_SEVERITY: cmc.ErrorCountThreshold(max_error_count=config.throttles_threshold)
                },
                "add_latency_p99_alarm": {
                    ALARM_SEVERITY: cmc.LatencyThreshold(
                        max_latency=Duration.millis(round(config.duration_timeout_fraction * fn.timeout_seconds * 1000))
                    )
                },
            }
        segment = cmc.LambdaFunctionMonitoring(
            self.facade,
            lambda_function=lambda_fn,
            human_readable_name=f"{fn.name} ({fn.function_name})",
            alarm_friendly_name=fn.name,
            is_iterator=False,  # invoked by the trainer, not by a stream
            **alarms,  # type: ignore[arg-type]
        )
        self.health_alarms += [created.alarm for created in segment.created_alarms()]  # type: ignore[misc]
        return [*segment.widgets(), *self._limit_panels(fm, lambda_fn)]

    def _limit_panels(self, fm: FunctionMetrics, lambda_fn: lambda_.IFunction) -> list[cw.IWidget]:
        fn = fm.function
        period = DASHBOARD_PERIOD
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
            panel("p99 close to the timeout: slow graders or a slow judge; samples past the deadline "
                  "score the minimum.", duration),
            panel("At the reserved line, further invocations are throttled: raise "
                  "target_evaluations_per_second or samples_per_invocation.", concurrency),
        ]

    def _code_executor_section(self, executor: lambda_.IFunction) -> None:
        """The executor's Lambda health and its concurrency against its reservation. No alarms of
        its own: an executor that fails or throttles fails its grader's invocation, which the
        grader's errors alarm reports."""
        env = self.config
        reserved = env.executor_reserved_concurrency
        self.dashboard.add_widgets(cw.TextWidget(
            markdown=f"## code executor: `{env.executor_function_name}`\nRuns the code functions' programs; "
            f"reserved concurrency {reserved} (their reserved concurrency x samples_per_invocation), "
            f"timeout {env.code_sandbox.executor.timeout_seconds} s, {env.code_sandbox.executor.memory_mb} MB.",
            width=24, height=2,
        ))
        segment = cmc.LambdaFunctionMonitoring(
            self.facade, lambda_function=executor, human_readable_name=f"code executor ({env.executor_function_name})",
            alarm_friendly_name="code-executor", is_iterator=False,
        )
        concurrency = cw.GraphWidget(
            title="code executor concurrent executions vs reserved",
            left=[executor.metric("ConcurrentExecutions", period=DASHBOARD_PERIOD, statistic=cw.Stats.MAXIMUM,
                                  label="max")],
            left_annotations=[cw.HorizontalAnnotation(value=reserved, label="reserved concurrency",
                                                      color=cw.Color.RED)],
            left_y_axis=cw.YAxisProps(min=0, show_units=False),
            width=PANEL_WIDTH,
            height=PANEL_HEIGHT,
        )
        self.dashboard.add_widgets(*segment.widgets(), panel(
            "At the reserved line the executor throttles and the graders' invocations fail: the trainer sends "
            "bigger batches than samples_per_invocation, or more at once than the graders' concurrency.", concurrency))

    # --- alarms -----------------------------------------------------------------------------

    def _add_reward_alarms(self, scope: Construct, fm: FunctionMetrics) -> None:
        config = self.config.alarms
        prefix = f"{alarm_name_prefix(self.config.name, self.config.deployment)}-{fm.function.name}"
        self.reward_alarms += [
            reward_alarms.failure_share_alarm(scope, fm, config, prefix),
            reward_alarms.collapse_alarm(scope, fm, config, prefix),
        ]
        judge = reward_alarms.judge_failure_share_alarm(scope, fm, config, prefix)
        if judge is not None:
            self.reward_alarms.append(judge)

    @property
    def alarms(self) -> list[cw.Alarm]:
        return [*self.health_alarms, *self.reward_alarms]

    # --- outputs ----------------------------------------------------------------------------

    def _add_outputs(self) -> None:
        stack = Stack.of(self)
        CfnOutput(stack, "DashboardUrl", value=dashboard_url(self.dashboard.dashboard_name),
                  description="CloudWatch dashboard of the reward distributions and function health")
        if self.topic is not None:
            CfnOutput(stack, "AlarmTopicArn", value=self.topic.topic_arn,
                      description="SNS topic the reward alarms notify (subscribe more endpoints here)")
