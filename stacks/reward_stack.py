"""RewardStack: one environment, composed from its components.

The stack only composes: each component's construct creates its resources and its outputs.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .code_sandbox import CodeExecutor, CodeSandboxNetwork
from .code_sandbox.construct import pin_stack_zones
from .config import EnvironmentConfig
from .evaluator_registration import EvaluatorRegistration
from .guardrails import EnvironmentKeys, apply_guardrails
from .monitoring import RewardMonitoring
from .reward_functions import RewardFunction
from .training_access import TrainingAccess


class RewardStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        code_options: dict[str, dict[str, Any]],
        asset_path: str,
        evaluator_code_options: dict[str, Any],
        executor_code_options: dict[str, Any],
        **kwargs: Any,
    ) -> None:
        """``code_options``: function kind -> ``Code.from_asset`` options (one asset per kind);
        ``evaluator_code_options``: the evaluator-registration handler's asset options;
        ``executor_code_options``: the code executor's (used when a function runs code)."""
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        if config.runs_code:
            pin_stack_zones(self, config.code_sandbox)  # offline synth with code_sandbox.availability_zones
        self._asset_path = asset_path
        self.code_sandbox, self.code_executor = self._build_code_sandbox(executor_code_options)
        self.reward_functions = self._build_reward_functions(code_options)
        self.training_access = TrainingAccess(
            self,
            "TrainingAccess",
            environment_name=config.name,
            training=config.training,
            reward_function_arns=[arn for rf in self.reward_functions.values() for arn in rf.invoke_arns],
            qualified_function_arns=[rf.qualified_arns for rf in self.reward_functions.values()],
        )
        self.evaluator_registration = self._build_evaluator_registration(evaluator_code_options)
        self.monitoring = RewardMonitoring(
            self,
            "Monitoring",
            environment=config,
            functions={name: rf.function for name, rf in self.reward_functions.items()},
            code_executor=self.code_executor.function if self.code_executor is not None else None,
            live_versions={name: rf.live_version_number for name, rf in self.reward_functions.items()},
        )
        # Last: tags, permissions boundary and keys cover every resource composed above.
        self.keys: EnvironmentKeys | None = apply_guardrails(self, config.guardrails, config.name)

    def _build_code_sandbox(
        self, executor_code_options: dict[str, Any],
    ) -> tuple[CodeSandboxNetwork | None, CodeExecutor | None]:
        """Code functions send the programs to one executor, in a network with no way out."""
        config = self.config
        if not config.runs_code:
            return None, None
        network = CodeSandboxNetwork(
            self, "CodeSandbox", config=config.code_sandbox, log_retention_days=config.log_retention_days,
            retain_logs=config.deployment.retain_log_groups,
        )
        executor = CodeExecutor(
            self, "CodeExecutor", environment=config, network=network,
            code=lambda_.Code.from_asset(self._asset_path, **executor_code_options),
        )
        return network, executor

    def _build_reward_functions(self, code_options: dict[str, dict[str, Any]]) -> dict[str, RewardFunction]:
        """One asset per function kind, shared by every function of that kind (staged once per app)."""
        codes: dict[str, lambda_.Code] = {}
        functions: dict[str, RewardFunction] = {}
        for fn in self.config.reward_functions:
            if fn.kind not in codes:
                codes[fn.kind] = lambda_.Code.from_asset(self._asset_path, **code_options[fn.kind])
            functions[fn.name] = RewardFunction(
                self, f"Reward{fn.construct_name}", environment=self.config, function=fn, code=codes[fn.kind],
                executor=self.code_executor if fn.kind == "code" else None,
            )
        return functions

    def _build_evaluator_registration(self, evaluator_code_options: dict[str, Any]) -> EvaluatorRegistration | None:
        """One SageMaker AI Evaluator per reward function, unless the environment switches it off."""
        config = self.config
        if not config.evaluator_registration.enabled:
            return None
        registration = EvaluatorRegistration(
            self, "EvaluatorRegistration",
            code=lambda_.Code.from_asset(self._asset_path, **evaluator_code_options),
            log_retention_days=config.log_retention_days,
            retain_logs=config.deployment.retain_log_groups,
        )
        for evaluator in config.evaluator_registration.evaluators:
            rf = self.reward_functions[evaluator.function]
            registration.register(rf.config.construct_name, lambda_arn=rf.invoke_arn,
                                  name=evaluator.name, description=evaluator.description,
                                  studio_domain_id=config.evaluator_registration.studio_domain_id)
        return registration
