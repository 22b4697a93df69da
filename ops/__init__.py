"""Operator tools: what a platform team runs after ``cdk deploy`` (``make versions``,
``make invoke``, ``make job``, the pipeline's post-deploy check).

Each module is a small CLI (``python -m ops.<module>``) over importable functions. They read
the environment's config from cdk.json (``stacks.config``, no CDK import) and everything
deployed from AWS through boto3, so ``AWS_ENDPOINT_URL_<SERVICE>`` points them at a local fake.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# reward_kit (the dry run, the spec) is imported from lambdas/, as app.py does.
if str(ROOT / "lambdas") not in sys.path:
    sys.path.insert(0, str(ROOT / "lambdas"))
