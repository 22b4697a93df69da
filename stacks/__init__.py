"""CDK side of the project: typed config, sizing models, one folder per capability, the stack.

Only ``app.py`` reads CDK context; everything else receives typed config (``config/``).
Components, each a folder with its construct(s) and, when it has a runtime, an asset from
``lambdas/<component>/``: ``reward_functions/`` (the reward Lambdas, one asset per function
kind), ``code_sandbox/`` (the code executor and its network), ``evaluator_registration/``
(SageMaker AI Evaluators), ``monitoring/`` (dashboard and alarms), ``training_access/``
(training roles), ``guardrails/`` (tags, permissions boundary, keys) and ``pipeline/`` (the
optional delivery pipeline). They share ``lambda_plumbing.py`` and never import each other;
``reward_stack.py`` and ``app_builder.py`` compose them. Pure models without CDK:
``capacity/`` (reserved concurrency; ``python -m stacks.capacity``), ``judge_capacity.py`` and
``cost.py``. See the component map in docs/DESIGN.md.
"""
