"""Code sandbox component: the network the code functions run in, and what their role may do.

Runtime: ``lambdas/code`` (the ``code`` function kind, its own asset).
"""

from .construct import ENI_ACTIONS, CodeSandboxNetwork

__all__ = ["ENI_ACTIONS", "CodeSandboxNetwork"]
