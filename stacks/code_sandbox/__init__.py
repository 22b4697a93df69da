"""Code sandbox component: the code executor, the network it runs in, and what roles may do.

Runtime: ``lambdas/code_sandbox`` (the executor, asset ``code_sandbox``); the graders that
call it are the ``code`` function kind (``stacks/reward_functions``).
"""

from .construct import CREATE_ENI_ACTION, ENI_ACTIONS, ENI_DESCRIBE_ACTIONS, CodeSandboxNetwork
from .executor import HANDLER, CodeExecutor, deny_to_function_code, network_interface_denial

__all__ = [
    "CREATE_ENI_ACTION",
    "ENI_ACTIONS",
    "ENI_DESCRIBE_ACTIONS",
    "HANDLER",
    "CodeExecutor",
    "CodeSandboxNetwork",
    "deny_to_function_code",
    "network_interface_denial",
]
