"""RLAIF reward function: a Bedrock model judges responses (``rlaif.handler.handler``)."""
