"""The VPC's address plan: a pure function, so it can be tested table-style.

The VPC is cut into quarters. Each AZ's private subnet gets a whole quarter, because
with the VPC CNI every pod takes a VPC address and the private tier is where pods
live. The fourth quarter is cut into eighths: three public subnets (load balancers
and NAT gateways only), three isolated subnets (databases, caches, brokers), and
two eighths kept spare for growth.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

MAX_AZS = 3
SMALLEST_SUBNET_PREFIX = 28  # AWS's smallest subnet
_QUARTER_BITS = 2
_EIGHTH_BITS = 3


@dataclass(frozen=True)
class SubnetPlan:
    public: tuple[str, ...]
    private: tuple[str, ...]
    isolated: tuple[str, ...]

    def all(self) -> tuple[str, ...]:
        return self.public + self.private + self.isolated


def largest_vpc_prefix() -> int:
    """The longest VPC prefix whose smallest planned subnet is still a valid AWS subnet."""
    return SMALLEST_SUBNET_PREFIX - _QUARTER_BITS - _EIGHTH_BITS


def plan_subnets(vpc_cidr: str, az_count: int) -> SubnetPlan:
    """Split ``vpc_cidr`` into public, private and isolated subnets, one per AZ and tier."""
    vpc = ipaddress.IPv4Network(vpc_cidr, strict=True)
    if not 1 <= az_count <= MAX_AZS:
        raise ValueError(f"az_count must be between 1 and {MAX_AZS}, got {az_count}")
    if vpc.prefixlen > largest_vpc_prefix():
        raise ValueError(
            f"{vpc_cidr} is too small for {az_count} AZs in three tiers: use /{largest_vpc_prefix()} or larger"
        )
    quarters = list(vpc.subnets(prefixlen_diff=_QUARTER_BITS))
    eighths = list(quarters[-1].subnets(prefixlen_diff=_EIGHTH_BITS))
    return SubnetPlan(
        public=tuple(str(n) for n in eighths[0:az_count]),
        private=tuple(str(n) for n in quarters[0:az_count]),
        isolated=tuple(str(n) for n in eighths[MAX_AZS : MAX_AZS + az_count]),
    )
