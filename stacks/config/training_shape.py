"""Sizing from training terms: ``training_shape`` (per environment, or per function).

Users think in the trainer's hyperparameters, not in evaluations per second. A training
step sends ``prompts_per_step`` (Bedrock ``batchSize``) x ``samples_per_prompt``
(``trainingSamplePerPrompt``; a recipe's ``number_generation``) samples to the reward
function, and takes about ``seconds_per_step``; ``concurrent_jobs`` jobs may share the
function. The rate is::

    target_evaluations_per_second = prompts_per_step x samples_per_prompt x concurrent_jobs
                                    / seconds_per_step

(the average over a step; a step's rollouts arrive in bursts, which ``headroom`` absorbs).
A function gives either ``target_evaluations_per_second`` or ``training_shape``; without
either it takes the environment's ``training_shape``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import CHECKS

KEYS = ("training_shape",)
SHAPE_KEYS = ("prompts_per_step", "samples_per_prompt", "seconds_per_step", "concurrent_jobs")


@dataclass(frozen=True)
class TrainingShape:
    prompts_per_step: int
    samples_per_prompt: int
    seconds_per_step: float
    concurrent_jobs: int = 1

    @property
    def samples_per_step(self) -> int:
        return self.prompts_per_step * self.samples_per_prompt

    @property
    def evaluations_per_second(self) -> float:
        return self.samples_per_step * self.concurrent_jobs / self.seconds_per_step

    def describe(self) -> str:
        jobs = f" x {self.concurrent_jobs} jobs" if self.concurrent_jobs != 1 else ""
        return (f"{self.prompts_per_step} prompts x {self.samples_per_prompt} samples per "
                f"{self.seconds_per_step:g} s step{jobs}")


def parse_training_shape(path: str, raw: Any) -> TrainingShape:
    raw = CHECKS.object(path, raw)
    CHECKS.no_unknown_keys(path, raw, SHAPE_KEYS)
    return TrainingShape(
        prompts_per_step=CHECKS.integer(f"{path}.prompts_per_step", CHECKS.required(
            path, raw, "prompts_per_step", "prompts per training step: Bedrock batchSize"), ge=1),
        samples_per_prompt=CHECKS.integer(f"{path}.samples_per_prompt", CHECKS.required(
            path, raw, "samples_per_prompt", "responses per prompt: Bedrock trainingSamplePerPrompt"), ge=1),
        seconds_per_step=CHECKS.number(f"{path}.seconds_per_step", CHECKS.required(
            path, raw, "seconds_per_step", "expected wall time of one training step"), gt=0),
        concurrent_jobs=CHECKS.integer(f"{path}.concurrent_jobs", raw.get("concurrent_jobs", 1), ge=1),
    )


def function_rate(path: str, raw: Any, environment_shape: TrainingShape | None) -> tuple[float, TrainingShape | None]:
    """(target evaluations per second, the shape it came from) for one function's raw config."""
    own = parse_training_shape(f"{path}.training_shape", raw["training_shape"]) if "training_shape" in raw else None
    if own is not None and "target_evaluations_per_second" in raw:
        raise CHECKS.fail(f"{path}.training_shape", "give either target_evaluations_per_second or training_shape "
                          "(the rate is derived from it), not both")
    shape = own or (environment_shape if "target_evaluations_per_second" not in raw else None)
    if shape is not None:
        return shape.evaluations_per_second, shape
    rate = CHECKS.number(f"{path}.target_evaluations_per_second", CHECKS.required(
        path, raw, "target_evaluations_per_second", "a number > 0, or a training_shape"), gt=0)
    return rate, None
