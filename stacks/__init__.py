"""CDK side of the project: typed config, capacity model, one folder per capability, the stack.

Only ``app.py`` reads CDK context; everything else receives typed config. Components:
``reward_functions/`` (the reward Lambdas, one asset per function kind) and
``training_access/`` (training roles); ``reward_stack.py`` only composes them. Monitoring,
evaluator registration and the code sandbox are not built yet: each will be a folder here
(with its runtime under ``lambdas/`` and its settings in a ``config/`` module); see the
component map in docs/DESIGN.md.
"""
