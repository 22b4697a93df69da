"""The code executor's status names and the exit codes its forked children end with.

Run statuses (one per run) and call statuses (one per call of a ``calls`` run) are the
response's (``code_sandbox/__init__.py`` documents them); the exit codes are how a child
(``code_sandbox.child``) tells the parent (``code_sandbox.runner``) why it stopped. Standard
library only.
"""

from __future__ import annotations

import builtins

# Run statuses.
OK = "ok"
SYNTAX_ERROR = "syntax_error"
TIMEOUT = "timeout"
MEMORY_LIMIT = "memory_limit"
OUTPUT_LIMIT = "output_limit"
FILE_LIMIT = "file_limit"
CRASH = "crash"
DEADLINE = "deadline"  # cut short by the request's time budget
# Call statuses besides OK, TIMEOUT, MEMORY_LIMIT, OUTPUT_LIMIT, CRASH, DEADLINE.
ERROR = "error"  # the call raised; "error" names the exception if it is a builtin one
NOT_PLAIN = "not_plain"  # the call returned something that is not plain data
NOT_RUN = "not_run"  # the run ended before this call started
NO_FUNCTION = "no_function"  # the program defines no such function (nor Solution method)

# Why a child stopped, as its exit code (runner._status reads them; EXIT_SETUP: its limits could not be set).
EXIT_SYNTAX, EXIT_MEMORY, EXIT_FILE, EXIT_SETUP = 70, 71, 72, 75
# The exception names a call's "error" may carry (anything else is reported as "Exception").
BUILTIN_EXCEPTIONS = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
)
