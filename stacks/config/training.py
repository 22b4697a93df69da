"""Training data an environment's training roles may read and write: ``training``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import CHECKS

KEYS = ("bucket", "data_prefix", "output_prefix")
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX_RE = re.compile(r"[A-Za-z0-9!_.()'/-]+")


@dataclass(frozen=True)
class TrainingDataConfig:
    bucket: str
    data_prefix: str  # no leading/trailing slash
    output_prefix: str


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
    return TrainingDataConfig(bucket=bucket, data_prefix=data_prefix, output_prefix=output_prefix)
