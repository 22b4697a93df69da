"""The code executor: runs ONE sample's program against test INPUTS and returns raw results.

It never receives expected outputs, test code or other samples, and holds no grader code
(standard library only; its own asset, ``code_sandbox``). The ``code`` grader
(``reward_kit.graders.code``) sends it one request per sample and decides every verdict
itself from the plain data that comes back. In AWS it is a Lambda function of its own
(``stacks/code_sandbox``); locally (tests, ``make dryrun``) the grader starts
``code_sandbox.local`` in Linux namespaces behind the same request and response.

Request (JSON)::

    {"version": 1,
     "program": "<the sample's program>",
     "prelude": "<code run before it, in the same namespace (the spec's prelude)>",
     "limits": {"seconds": 2.0,          # wall time per phase: loading the program, each call
                "memory_mb": 256,        # address space the program may add
                "output_bytes": 65536,   # stdout (and each call's value) carried back
                "file_bytes": 1048576},  # largest file it may write, stdout included
     "budget_seconds": 9.5,              # the whole request: runs not finished by then are "deadline"
     "max_processes": 4,                 # optional: children at once (never above the executor's own cap)
     "runs": [{"stdin": "1 2\\n"},                                        # the program as __main__
              {"calls": [{"function": "add", "args": [1, 2], "kwargs": {}},   # the program as module
                         {"function": "twoSum", "args": [[2, 7], 9]}]}]}      # `solution`, then each call

``function`` is a top-level function of the program, else a method of its ``class Solution``
(called on a fresh ``Solution()``). ``args``/``kwargs`` and every value returned are plain
data in the form of ``code_sandbox.plain_data`` (JSON plus tagged tuples, sets, bytes, ...).

Response (JSON, always under Lambda's 6 MB: the executor keeps the carried stdout and values
under 5 MB and marks the rest ``output_limit``)::

    {"version": 1, "status": "ok",
     "runs": [{"status": "ok", "seconds": 0.012, "stdout": "3\\n"},
              {"status": "ok", "seconds": 0.020,
               "calls": [{"status": "ok", "value": 3},
                         {"status": "error", "error": "ValueError"},
                         {"status": "not_plain"}]}]}

Run statuses: ``ok`` (exit 0), ``syntax_error``, ``timeout`` (wall or CPU), ``memory_limit``,
``output_limit``, ``file_limit``, ``crash`` (exception, signal, non-zero exit), ``deadline``
(cut by ``budget_seconds``). Call statuses: ``ok`` (with ``value``), ``error`` (with the
builtin exception's name, else ``Exception``), ``not_plain`` (the value is not plain data),
``no_function``, ``not_run`` (the run ended first), or the run's status for the call that
was running when it ended. A request it cannot use: ``{"status": "invalid_request",
"error": ...}``; an environment it cannot clean: ``{"status": "executor_error", "error": ...}``.
"""
