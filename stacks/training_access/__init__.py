"""Training access component: the roles training jobs assume to call the reward functions."""

from .construct import TrainingAccess, s3_bucket_arn, s3_object_arn

__all__ = ["TrainingAccess", "s3_bucket_arn", "s3_object_arn"]
