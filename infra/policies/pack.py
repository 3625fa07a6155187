"""Every policy of the pack, importable without starting the policy server."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from infra.policies.rules import (
    cloudfront,
    cloudwatch,
    cognito,
    ec2,
    eks,
    elasticache,
    elb,
    kms,
    kubernetes,
    msk,
    rds,
    s3,
)

PACK_NAME = "webscale-security-baseline"
DEFAULT_ENFORCEMENT = EnforcementLevel.MANDATORY
"""Each policy sets its own level; this only applies to a policy that forgot to."""

POLICIES: list[Policy] = [
    *ec2.POLICIES,
    *kms.POLICIES,
    *s3.POLICIES,
    *eks.POLICIES,
    *rds.POLICIES,
    *elasticache.POLICIES,
    *msk.POLICIES,
    *elb.POLICIES,
    *cloudfront.POLICIES,
    *cognito.POLICIES,
    *cloudwatch.POLICIES,
    *kubernetes.POLICIES,
]


def enforcement_of(policy: Policy) -> EnforcementLevel:
    return policy.enforcement_level or DEFAULT_ENFORCEMENT
