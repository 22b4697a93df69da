from .construct import (
    KEY_ADMIN_ACTIONS,
    LAMBDA_DEPLOY_ACTIONS,
    LOGS_KEY_ACTIONS,
    EnvironmentKeys,
    apply_guardrails,
    apply_permissions_boundary,
    apply_tags,
)

__all__ = [
    "KEY_ADMIN_ACTIONS",
    "LAMBDA_DEPLOY_ACTIONS",
    "LOGS_KEY_ACTIONS",
    "EnvironmentKeys",
    "apply_guardrails",
    "apply_permissions_boundary",
    "apply_tags",
]
