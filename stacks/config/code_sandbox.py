"""The code executor and its network: ``code_sandbox`` (optional).

Network. Omitted: the stack creates a VPC with isolated subnets only (no internet or NAT
gateway, no VPC endpoints, DNS resolution off) in ``cidr`` (default below), one subnet in each
of ``availability_zones`` (optional; without it CDK looks the zones up in the environment's
account, which needs AWS credentials at synth once an environment has an ``account``). Given
``vpc_id``, ``subnet_ids`` and ``availability_zones`` (one per subnet, in order): the executor
attaches to those subnets, which must have no route out, no endpoints and no working DNS; the
stack cannot check a network it does not own.

Executor (``code_sandbox.executor``): the Lambda function that runs the programs of the
environment's code functions. ``memory_mb`` (default 1,769: one full vCPU, so a test's CPU
limit is also about its wall time) must hold the largest program a code grader allows
(its spec's ``memory_mb``) plus the executor's own runtime; ``timeout_seconds`` (default: the
largest ``timeout_seconds`` of the environment's code functions) must outlast every grader's
invocation, since a grader gives a sample at most its own time left. Its reserved concurrency
is not configured: the capacity model derives it (``stacks.capacity.executor_concurrency``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Mapping, Sequence

from reward_kit import kinds

from .errors import CHECKS

KEYS = ("code_sandbox",)
SANDBOX_KEYS = ("availability_zones", "cidr", "executor", "subnet_ids", "vpc_id")
EXECUTOR_KEYS = ("memory_mb", "timeout_seconds")
EXECUTOR_DEFAULT_MEMORY_MB = 1769  # Lambda gives a function one full vCPU at 1,769 MB
EXECUTOR_MEMORY_MB_RANGE = (128, 10240)
EXECUTOR_TIMEOUT_SECONDS_RANGE = (1, 900)
# What the executor needs besides the program's own address space: Python, its handler, buffers.
EXECUTOR_RUNTIME_MB = 256
EXECUTOR_NAME_PREFIX = "rft-code-executor"  # its Lambda is <prefix>-<env>, affixed like the others
EXECUTOR_LABEL = "code executor"  # its name in reserved-concurrency messages and tables
DEFAULT_CIDR = "10.213.0.0/24"
PREFIX_RANGE = (16, 24)  # two /26..  isolated subnets must fit
SUBNET_PREFIX = 26  # each isolated subnet of the VPC the stack creates
_VPC_RE = re.compile(r"vpc-[0-9a-f]{8,17}")
_SUBNET_RE = re.compile(r"subnet-[0-9a-f]{8,17}")
_AZ_RE = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-\d[a-z]")


@dataclass(frozen=True)
class ExecutorConfig:
    memory_mb: int = EXECUTOR_DEFAULT_MEMORY_MB
    timeout_seconds: int | None = None  # None until resolved against the code functions


@dataclass(frozen=True)
class CodeSandboxConfig:
    cidr: str = DEFAULT_CIDR  # of the VPC the stack creates
    vpc_id: str | None = None  # an existing VPC instead
    subnet_ids: tuple[str, ...] = ()
    availability_zones: tuple[str, ...] = ()
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    path: str = "code_sandbox"  # the config key path, for errors found while building the stack

    @property
    def creates_vpc(self) -> bool:
        return self.vpc_id is None


def parse_executor(path: str, raw: Any) -> ExecutorConfig:
    section = CHECKS.object(path, raw)
    CHECKS.no_unknown_keys(path, section, EXECUTOR_KEYS)
    memory_mb = CHECKS.integer(f"{path}.memory_mb", section.get("memory_mb", EXECUTOR_DEFAULT_MEMORY_MB),
                               ge=EXECUTOR_MEMORY_MB_RANGE[0], le=EXECUTOR_MEMORY_MB_RANGE[1])
    timeout = section.get("timeout_seconds")
    if timeout is not None:
        timeout = CHECKS.integer(f"{path}.timeout_seconds", timeout, ge=EXECUTOR_TIMEOUT_SECONDS_RANGE[0],
                                 le=EXECUTOR_TIMEOUT_SECONDS_RANGE[1])
    return ExecutorConfig(memory_mb=memory_mb, timeout_seconds=timeout)


def code_memory_limits(spec: Mapping[str, Any], key: str) -> Iterator[tuple[str, int]]:
    """(key path, MB) of the ``memory_mb`` of every grader in a validated spec whose programs run
    in the executor (``kinds.NEEDS_SANDBOX``), components of a composite included."""
    kind = kinds.GRADER_KINDS[spec["grader"]]
    if kind.composite:
        for name, component in spec.get("graders", {}).items():
            yield from code_memory_limits(component, f"{key}.graders.{name}")
    elif kind.needs == kinds.NEEDS_SANDBOX and "memory_mb" in spec:
        yield f"{key}.memory_mb", int(spec["memory_mb"])


def resolve_executor(path: str, config: CodeSandboxConfig, functions: Sequence[Any]) -> CodeSandboxConfig:
    """The executor's settings checked against the code functions (``RewardFunctionConfig``) it
    serves; ``timeout_seconds`` filled in when omitted. Environments without code are unchanged."""
    code = [fn for fn in functions if fn.kind == "code"]
    if not code:
        return config
    limits = [limit for fn in code
              for limit in code_memory_limits(fn.reward_spec, f"{path}.reward_functions.{fn.name}.reward_spec")]
    path = f"{path}.code_sandbox.executor"
    executor = config.executor
    largest_path, largest = max(limits, key=lambda item: item[1], default=("", 0))
    if limits and executor.memory_mb < largest + EXECUTOR_RUNTIME_MB:
        raise CHECKS.fail(f"{path}.memory_mb", f"must be at least {largest + EXECUTOR_RUNTIME_MB} MB (the largest "
                          f"program a code grader allows, {largest_path} = {largest}, plus {EXECUTOR_RUNTIME_MB} MB "
                          "for the executor itself)", executor.memory_mb)
    slowest = max(code, key=lambda fn: fn.timeout_seconds)
    if executor.timeout_seconds is None:
        return replace(config, executor=replace(executor, timeout_seconds=slowest.timeout_seconds))
    if executor.timeout_seconds < slowest.timeout_seconds:
        raise CHECKS.fail(f"{path}.timeout_seconds", f"must be at least {slowest.timeout_seconds} (the timeout of "
                          f"code function {slowest.name!r}: a grader gives a sample up to its own time left, and the "
                          "executor must not die first); omit it to use that", executor.timeout_seconds)
    return config


def parse_code_sandbox(path: str, raw: Mapping[str, Any]) -> CodeSandboxConfig:
    path = f"{path}.code_sandbox"
    section = CHECKS.object(path, raw.get("code_sandbox", {}))
    CHECKS.no_unknown_keys(path, section, SANDBOX_KEYS)
    executor = parse_executor(f"{path}.executor", section.get("executor", {}))
    vpc_id = section.get("vpc_id")
    if vpc_id is None:
        if "subnet_ids" in section:
            raise CHECKS.fail(f"{path}.subnet_ids", "only with vpc_id (an existing VPC); omit it to have the stack "
                              "create the VPC")
        cidr = section.get("cidr", DEFAULT_CIDR)
        try:
            network = ipaddress.IPv4Network(cidr)
        except (ValueError, TypeError):
            network = None
        if network is None or not network.is_private or not PREFIX_RANGE[0] <= network.prefixlen <= PREFIX_RANGE[1]:
            raise CHECKS.fail(f"{path}.cidr", f"must be a private IPv4 CIDR with a prefix of /{PREFIX_RANGE[0]} to "
                              f"/{PREFIX_RANGE[1]}, e.g. {DEFAULT_CIDR!r}", cidr)
        zones = _zones(path, section["availability_zones"], raw.get("region")) if "availability_zones" in section else ()
        if len(zones) > 2 ** (SUBNET_PREFIX - network.prefixlen):
            raise CHECKS.fail(f"{path}.availability_zones", f"at most {2 ** (SUBNET_PREFIX - network.prefixlen)} zones "
                              f"(one /{SUBNET_PREFIX} subnet each) fit in {network}", list(zones))
        return CodeSandboxConfig(cidr=str(network), availability_zones=zones, executor=executor, path=path)
    if "cidr" in section:
        raise CHECKS.fail(f"{path}.cidr", "only for the VPC the stack creates; omit it with vpc_id")
    vpc_id = CHECKS.pattern(f"{path}.vpc_id", vpc_id, _VPC_RE, "a VPC id like 'vpc-0abc12345def67890'")
    subnets = CHECKS.required(path, section, "subnet_ids", "the VPC's isolated subnets, e.g. ['subnet-0abc12345def67890']")
    zones = CHECKS.required(path, section, "availability_zones", "the subnets' availability zones, in order")
    for key, value in (("subnet_ids", subnets), ("availability_zones", zones)):
        if not isinstance(value, list) or not value:
            raise CHECKS.fail(f"{path}.{key}", "must be a non-empty list", value)
    subnet_ids = tuple(CHECKS.pattern(f"{path}.subnet_ids[{i}]", s, _SUBNET_RE, "a subnet id like 'subnet-0abc1234'")
                       for i, s in enumerate(subnets))
    if len(set(subnet_ids)) != len(subnet_ids):
        raise CHECKS.fail(f"{path}.subnet_ids", "must not repeat a subnet", list(subnets))
    availability_zones = tuple(CHECKS.pattern(f"{path}.availability_zones[{i}]", z, _AZ_RE, "a zone like 'us-east-1a'")
                               for i, z in enumerate(zones))
    if len(availability_zones) != len(subnet_ids):
        raise CHECKS.fail(f"{path}.availability_zones", f"must list one zone per subnet ({len(subnet_ids)})",
                          list(zones))
    return CodeSandboxConfig(vpc_id=vpc_id, subnet_ids=subnet_ids, availability_zones=availability_zones,
                             executor=executor, path=path)


def _zones(path: str, zones: Any, region: Any) -> tuple[str, ...]:
    """The zones of the VPC the stack creates: a non-empty list of distinct zones of the region."""
    if not isinstance(zones, list) or not zones:
        raise CHECKS.fail(f"{path}.availability_zones", "must be a non-empty list of zones, e.g. "
                          "['us-east-1a', 'us-east-1b']", zones)
    parsed = tuple(CHECKS.pattern(f"{path}.availability_zones[{i}]", z, _AZ_RE, "a zone like 'us-east-1a'")
                   for i, z in enumerate(zones))
    if len(set(parsed)) != len(parsed):
        raise CHECKS.fail(f"{path}.availability_zones", "must not repeat a zone", zones)
    if isinstance(region, str):
        for i, zone in enumerate(parsed):
            if zone[:-1] != region:
                raise CHECKS.fail(f"{path}.availability_zones[{i}]", f"must be a zone of the environment's region "
                                  f"{region!r}, e.g. '{region}a'", zone)
    return parsed
