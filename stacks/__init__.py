"""CDK side of the project: typed config, capacity model, constructs and stacks.

Only ``stacks.app_builder`` reads CDK context; everything else receives typed config.
"""
