"""The VPC address plan, table-style."""

import ipaddress
import itertools

import pytest

from infra.components.cidr import largest_vpc_prefix, plan_subnets

PLANS = [
    # vpc cidr, AZs, public, private, isolated
    (
        "10.0.0.0/16",
        3,
        ("10.0.192.0/21", "10.0.200.0/21", "10.0.208.0/21"),
        ("10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18"),
        ("10.0.216.0/21", "10.0.224.0/21", "10.0.232.0/21"),
    ),
    (
        "10.10.0.0/16",
        2,
        ("10.10.192.0/21", "10.10.200.0/21"),
        ("10.10.0.0/18", "10.10.64.0/18"),
        ("10.10.216.0/21", "10.10.224.0/21"),
    ),
    (
        "172.16.0.0/20",
        3,
        ("172.16.12.0/25", "172.16.12.128/25", "172.16.13.0/25"),
        ("172.16.0.0/22", "172.16.4.0/22", "172.16.8.0/22"),
        ("172.16.13.128/25", "172.16.14.0/25", "172.16.14.128/25"),
    ),
    (
        "192.168.0.0/23",
        2,
        ("192.168.1.128/28", "192.168.1.144/28"),
        ("192.168.0.0/25", "192.168.0.128/25"),
        ("192.168.1.176/28", "192.168.1.192/28"),
    ),
]


@pytest.mark.parametrize(("vpc", "azs", "public", "private", "isolated"), PLANS)
def test_plan_assigns_each_tier_its_blocks(vpc, azs, public, private, isolated):
    plan = plan_subnets(vpc, azs)
    assert (plan.public, plan.private, plan.isolated) == (public, private, isolated)


@pytest.mark.parametrize(("vpc", "azs"), [(p[0], p[1]) for p in PLANS] + [("10.0.0.0/8", 3), ("10.1.0.0/22", 3)])
def test_planned_subnets_fit_the_vpc_and_never_overlap(vpc, azs):
    subnets = [ipaddress.ip_network(c) for c in plan_subnets(vpc, azs).all()]
    assert len(subnets) == 3 * azs
    assert all(s.subnet_of(ipaddress.ip_network(vpc)) for s in subnets)
    overlapping = [(a, b) for a, b in itertools.combinations(subnets, 2) if a.overlaps(b)]
    assert not overlapping


def test_private_tier_is_the_largest_because_pods_take_vpc_addresses():
    plan = plan_subnets("10.0.0.0/16", 3)
    private = ipaddress.ip_network(plan.private[0]).num_addresses
    assert private > 4 * ipaddress.ip_network(plan.public[0]).num_addresses


@pytest.mark.parametrize("vpc", ["10.0.0.0/24", "10.0.0.0/28"])
def test_plan_rejects_a_vpc_too_small_for_three_tiers(vpc):
    with pytest.raises(ValueError, match=f"too small.*/{largest_vpc_prefix()}"):
        plan_subnets(vpc, 3)


@pytest.mark.parametrize("azs", [0, 4])
def test_plan_rejects_an_az_count_it_cannot_split(azs):
    with pytest.raises(ValueError, match="az_count"):
        plan_subnets("10.0.0.0/16", azs)
