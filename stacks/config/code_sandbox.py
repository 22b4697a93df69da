"""Network of the code functions: ``code_sandbox`` (optional).

Omitted: the stack creates a VPC with isolated subnets only (no internet or NAT gateway, no
VPC endpoints) in ``cidr`` (default below), one subnet in each of ``availability_zones``
(optional; without it CDK looks the zones up in the environment's account, which needs AWS
credentials at synth once an environment has an ``account``). Given ``vpc_id``, ``subnet_ids`` and
``availability_zones`` (one per subnet, in order): the functions attach to those subnets,
which must have no route out and no endpoints; the stack cannot check a network it does not own.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import CHECKS

KEYS = ("code_sandbox",)
SANDBOX_KEYS = ("availability_zones", "cidr", "subnet_ids", "vpc_id")
DEFAULT_CIDR = "10.213.0.0/24"
PREFIX_RANGE = (16, 24)  # two /26..  isolated subnets must fit
SUBNET_PREFIX = 26  # each isolated subnet of the VPC the stack creates
_VPC_RE = re.compile(r"vpc-[0-9a-f]{8,17}")
_SUBNET_RE = re.compile(r"subnet-[0-9a-f]{8,17}")
_AZ_RE = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-\d[a-z]")


@dataclass(frozen=True)
class CodeSandboxConfig:
    cidr: str = DEFAULT_CIDR  # of the VPC the stack creates
    vpc_id: str | None = None  # an existing VPC instead
    subnet_ids: tuple[str, ...] = ()
    availability_zones: tuple[str, ...] = ()
    path: str = "code_sandbox"  # the config key path, for errors found while building the stack

    @property
    def creates_vpc(self) -> bool:
        return self.vpc_id is None


def parse_code_sandbox(path: str, raw: Mapping[str, Any]) -> CodeSandboxConfig:
    path = f"{path}.code_sandbox"
    section = CHECKS.object(path, raw.get("code_sandbox", {}))
    CHECKS.no_unknown_keys(path, section, SANDBOX_KEYS)
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
        return CodeSandboxConfig(cidr=str(network), availability_zones=zones, path=path)
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
    return CodeSandboxConfig(vpc_id=vpc_id, subnet_ids=subnet_ids, availability_zones=availability_zones, path=path)


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
