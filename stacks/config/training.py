"""Training data an environment's training roles may read and write: ``training``.

``kms_key_arn``: the customer-managed KMS key of an SSE-KMS training bucket (the roles get
kms:Decrypt and kms:GenerateDataKey on it through S3 only). ``hyperpod``: the SageMaker role
may also be assumed by the account's HyperPod clusters (default: training jobs only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import CHECKS

KEYS = ("bucket", "data_prefix", "output_prefix", "kms_key_arn", "hyperpod")
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX_RE = re.compile(r"[A-Za-z0-9!_.()'/-]+")
# A key ARN, not an alias: a key policy or grant names keys, and S3 records the key id.
KMS_KEY_ARN_RE = re.compile(
    r"arn:aws[a-z-]*:kms:[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d:\d{12}:key/(?:[0-9a-f-]{36}|mrk-[0-9a-f]{32})")


@dataclass(frozen=True)
class TrainingDataConfig:
    bucket: str
    data_prefix: str  # no leading/trailing slash
    output_prefix: str
    kms_key_arn: str | None = None
    hyperpod: bool = False

    @property
    def kms_key_region(self) -> str | None:
        """The key's region: an SSE-KMS bucket's key lives in the bucket's region."""
        return self.kms_key_arn.split(":")[3] if self.kms_key_arn else None


def _prefix(path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip("/"):
        raise CHECKS.fail(path, "must be a non-empty S3 key prefix such as 'rft/train'", value)
    value = value.strip("/")
    if not _PREFIX_RE.fullmatch(value) or "//" in value:
        raise CHECKS.fail(path, "must use only letters, digits and !_.()'/- (no wildcards or empty segments)", value)
    return value


def parse_training(path: str, raw: Any) -> TrainingDataConfig:
    raw = CHECKS.object(path, raw)
    CHECKS.no_unknown_keys(path, raw, KEYS)
    bucket = CHECKS.pattern(
        f"{path}.bucket",
        CHECKS.required(path, raw, "bucket", "the S3 bucket holding training data"),
        _BUCKET_RE,
        "an S3 bucket name (3-63 characters: lowercase letters, digits, '.' and '-')",
    )
    data_prefix = _prefix(f"{path}.data_prefix",
                          CHECKS.required(path, raw, "data_prefix", "the S3 key prefix of the training data"))
    output_prefix = _prefix(f"{path}.output_prefix",
                            CHECKS.required(path, raw, "output_prefix", "the S3 key prefix training jobs write to"))
    if output_prefix == data_prefix or output_prefix.startswith(data_prefix + "/") or data_prefix.startswith(
        output_prefix + "/"
    ):
        raise CHECKS.fail(f"{path}.output_prefix",
                          f"must not overlap data_prefix {data_prefix!r} (jobs must not overwrite training data)")
    kms_key_arn = raw.get("kms_key_arn")
    if kms_key_arn is not None:
        kms_key_arn = CHECKS.pattern(f"{path}.kms_key_arn", kms_key_arn, KMS_KEY_ARN_RE,
                                     "a KMS key ARN such as 'arn:aws:kms:us-east-1:111122223333:key/<key id>'")
    return TrainingDataConfig(bucket=bucket, data_prefix=data_prefix, output_prefix=output_prefix,
                              kms_key_arn=kms_key_arn,
                              hyperpod=CHECKS.boolean(f"{path}.hyperpod", raw.get("hyperpod", False)))
