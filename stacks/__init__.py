"""CDK side of the project: typed config, capacity model, constructs and stacks.

Only ``app.py`` reads CDK context; everything else receives typed config.
"""
