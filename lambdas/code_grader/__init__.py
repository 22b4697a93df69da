"""The ``code`` function kind's entry point (``handler.py``): the ``code`` grader
(``reward_kit.graders.code``) behind the reward contract. Programs never run here: they run
in the environment's code executor (``code_sandbox``)."""
