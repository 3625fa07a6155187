"""Each AWS rule catches a deliberately bad resource, and passes a compliant one.

A compliant baseline per resource type must pass every policy of the pack; each bad case changes
one thing in it and names the policy that must catch it. ``test_every_policy_has_a_bad_case``
keeps the table from silently missing (or losing) a rule.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from pulumi_policy import ResourceValidationPolicy

from infra.policies.pack import POLICIES
from infra.policies.rules import cloudfront, cloudwatch, cognito, ec2, eks, elasticache, elb, kms, msk, rds, s3
from tests.infra.policy_cases import DELETE, merged, stack_violations, violations

NEWEST_EKS = max(eks.EKS_VERSION_SUPPORT_ENDS, key=lambda v: tuple(int(p) for p in v.split(".")))

GOOD: dict[str, dict[str, Any]] = {
    cognito.USER_POOL: {
        "userPoolTier": "PLUS",
        "userPoolAddOns": {"advancedSecurityMode": "ENFORCED"},
        "mfaConfiguration": "ON",
        "deletionProtection": "ACTIVE",
        "passwordPolicy": {
            "minimumLength": 12.0,
            "requireLowercase": True,
            "requireUppercase": True,
            "requireNumbers": True,
            "requireSymbols": True,
            "temporaryPasswordValidityDays": 3.0,
        },
    },
    eks.CLUSTER: {
        "version": NEWEST_EKS,
        "vpcConfig": {"endpointPublicAccess": False, "endpointPrivateAccess": True},
        "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:eu-west-1:1:key/k"}},
        "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager"],
    },
    rds.INSTANCE: {
        "engine": "postgres",
        "port": 5433.0,
        "publiclyAccessible": False,
        "storageEncrypted": True,
        "multiAz": True,
        "monitoringInterval": 60.0,
        "monitoringRoleArn": "arn:aws:iam::1:role/rds-monitoring",
        "deletionProtection": True,
        "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
        "iamDatabaseAuthenticationEnabled": True,
        "backupRetentionPeriod": 7.0,
        "autoMinorVersionUpgrade": True,
        "copyTagsToSnapshot": True,
    },
    elasticache.REPLICATION_GROUP: {
        "engine": "redis",
        "replicationGroupId": "webscale-prod-cache",
        "snapshotRetentionLimit": 7.0,
        "automaticFailoverEnabled": True,
        "atRestEncryptionEnabled": True,
        "transitEncryptionEnabled": True,
        "subnetGroupName": "webscale-prod-cache",
    },
    elasticache.CACHE_CLUSTER: {"engine": "redis", "snapshotRetentionLimit": 1.0, "subnetGroupName": "cache"},
    msk.CLUSTER: {
        "encryptionInfo": {"encryptionInTransit": {"clientBroker": "TLS", "inCluster": True}},
        "brokerNodeGroupInfo": {"connectivityInfo": {"publicAccess": {"type": "DISABLED"}}},
        "clientAuthentication": {"sasl": {"iam": True}, "unauthenticated": False},
    },
    elb.LOAD_BALANCERS[0]: {
        "loadBalancerType": "application",
        "internal": True,
        "dropInvalidHeaderFields": True,
        "accessLogs": {"bucket": "webscale-prod-alb-logs", "enabled": True},
        "enableDeletionProtection": True,
        "desyncMitigationMode": "strictest",
        "subnets": ["subnet-a", "subnet-b"],
    },
    cloudfront.DISTRIBUTION: {
        "aliases": ["shop.example.com"],
        "webAclId": "arn:aws:wafv2:us-east-1:1:global/webacl/edge/x",
        "defaultCacheBehavior": {"viewerProtocolPolicy": "redirect-to-https", "targetOriginId": "alb"},
        "orderedCacheBehaviors": [{"pathPattern": "/api/*", "viewerProtocolPolicy": "https-only"}],
        "origins": [
            {"originId": "alb", "domainName": "alb.internal", "vpcOriginConfig": {"vpcOriginId": "vo-1"}},
            {
                "originId": "legacy",
                "domainName": "legacy.example.com",
                "customOriginConfig": {"originProtocolPolicy": "https-only", "originSslProtocols": ["TLSv1.2"]},
            },
            {"originId": "site", "domainName": "site.s3.eu-west-1.amazonaws.com", "originAccessControlId": "oac-1"},
        ],
        "viewerCertificate": {
            "acmCertificateArn": "arn:aws:acm:us-east-1:1:certificate/c",
            "sslSupportMethod": "sni-only",
            "minimumProtocolVersion": "TLSv1.2_2021",
        },
    },
    cloudfront.VPC_ORIGIN: {
        "vpcOriginEndpointConfig": {
            "name": "alb",
            "originProtocolPolicy": "https-only",
            "originSslProtocols": {"items": ["TLSv1.2"], "quantity": 1.0},
        }
    },
    ec2.SUBNET: {"mapPublicIpOnLaunch": False, "tags": {"tier": "private"}},
    ec2.DEFAULT_SG: {"vpcId": "vpc-1", "ingress": [], "egress": []},
    kms.KEY: {"enableKeyRotation": True},
    s3.PUBLIC_ACCESS_BLOCK: dict.fromkeys(s3.BLOCK_SETTINGS, True),
}
GOOD[elb.LOAD_BALANCERS[1]] = GOOD[elb.LOAD_BALANCERS[0]]  # aws.alb.* are aliases of aws.lb.*

# (policy, resource type, change to the compliant baseline, words the message must contain)
BAD: list[tuple[str, str, dict[str, Any], str]] = [
    ("cognito-1-threat-protection-enforced", cognito.USER_POOL, {"userPoolAddOns": {"advancedSecurityMode": "AUDIT"}}, "'AUDIT'"),
    ("cognito-1-threat-protection-enforced", cognito.USER_POOL, {"userPoolAddOns": DELETE}, "'OFF'"),
    ("cognito-1-threat-protection-enforced", cognito.USER_POOL, {"userPoolTier": "ESSENTIALS"}, "'PLUS'"),
    ("identity-1-password-policy-strong", cognito.USER_POOL, {"passwordPolicy": {"minimumLength": 8.0}}, "fewer than 12"),
    ("identity-1-password-policy-strong", cognito.USER_POOL, {"passwordPolicy": DELETE}, "fewer than 12"),
    ("identity-1-password-policy-strong", cognito.USER_POOL, {"passwordPolicy": {"requireSymbols": False}}, "requireSymbols"),
    ("identity-1-password-policy-strong", cognito.USER_POOL, {"passwordPolicy": {"temporaryPasswordValidityDays": 30.0}}, "30 days"),
    ("identity-2-mfa-required", cognito.USER_POOL, {"mfaConfiguration": "OPTIONAL"}, "'OPTIONAL'"),
    ("identity-2-mfa-required", cognito.USER_POOL, {"mfaConfiguration": DELETE}, "'OFF'"),
    ("identity-3-deletion-protection", cognito.USER_POOL, {"deletionProtection": "INACTIVE"}, "'INACTIVE'"),
    ("eks-1-endpoint-not-public", eks.CLUSTER, {"vpcConfig": {"endpointPublicAccess": True}}, "0.0.0.0/0"),
    ("eks-1-endpoint-not-public", eks.CLUSTER, {"vpcConfig": DELETE}, "0.0.0.0/0"),
    ("eks-2-supported-kubernetes-version", eks.CLUSTER, {"version": "1.27"}, "not in EKS_VERSION_SUPPORT_ENDS"),
    ("eks-3-secrets-encrypted", eks.CLUSTER, {"encryptionConfig": DELETE}, "not envelope-encrypted"),
    ("eks-3-secrets-encrypted", eks.CLUSTER, {"encryptionConfig": {"resources": []}}, "not envelope-encrypted"),
    ("eks-8-audit-logging-enabled", eks.CLUSTER, {"enabledClusterLogTypes": ["api"]}, "'audit'"),
    ("rds-2-no-public-access", rds.INSTANCE, {"publiclyAccessible": True}, "publicly accessible"),
    ("rds-3-storage-encrypted", rds.INSTANCE, {"storageEncrypted": DELETE}, "not encrypted"),
    ("rds-5-multi-az", rds.INSTANCE, {"multiAz": False}, "single-AZ"),
    ("rds-6-enhanced-monitoring", rds.INSTANCE, {"monitoringInterval": 0.0}, "enhanced monitoring is off"),
    ("rds-6-enhanced-monitoring", rds.INSTANCE, {"monitoringRoleArn": DELETE}, "enhanced monitoring is off"),
    ("rds-8-deletion-protection", rds.INSTANCE, {"deletionProtection": DELETE}, "deletion protection is off"),
    ("rds-9-logs-to-cloudwatch", rds.INSTANCE, {"enabledCloudwatchLogsExports": ["postgresql"]}, "'upgrade'"),
    ("rds-9-logs-to-cloudwatch", rds.INSTANCE, {"enabledCloudwatchLogsExports": DELETE}, "no logs are exported"),
    ("rds-10-iam-authentication", rds.INSTANCE, {"iamDatabaseAuthenticationEnabled": False}, "IAM database auth"),
    ("rds-11-automatic-backups", rds.INSTANCE, {"backupRetentionPeriod": 0.0}, "fewer than 1"),
    ("rds-11-automatic-backups", rds.INSTANCE, {"backupRetentionPeriod": DELETE}, "not set"),
    ("rds-11-backup-retention-7-days", rds.INSTANCE, {"backupRetentionPeriod": 3.0}, "fewer than 7"),
    ("rds-13-auto-minor-version-upgrade", rds.INSTANCE, {"autoMinorVersionUpgrade": False}, "minor version"),
    ("rds-17-copy-tags-to-snapshots", rds.INSTANCE, {"copyTagsToSnapshot": DELETE}, "not copied"),
    ("rds-23-no-default-port", rds.INSTANCE, {"port": DELETE}, "default port 5432"),
    ("rds-23-no-default-port", rds.INSTANCE, {"port": 5432.0}, "default port 5432"),
    ("elasticache-1-automatic-backups", elasticache.REPLICATION_GROUP, {"snapshotRetentionLimit": DELETE}, "backups are off"),
    ("elasticache-1-automatic-backups", elasticache.CACHE_CLUSTER, {"snapshotRetentionLimit": 0.0}, "backups are off"),
    ("elasticache-2-auto-minor-version-upgrade", elasticache.REPLICATION_GROUP, {"autoMinorVersionUpgrade": False}, "minor version"),
    ("elasticache-3-automatic-failover", elasticache.REPLICATION_GROUP, {"automaticFailoverEnabled": DELETE}, "failover is off"),
    ("elasticache-4-encrypted-at-rest", elasticache.REPLICATION_GROUP, {"atRestEncryptionEnabled": DELETE}, "not encrypted at rest"),
    ("elasticache-5-encrypted-in-transit", elasticache.REPLICATION_GROUP, {"transitEncryptionEnabled": False}, "not encrypted in transit"),
    ("elasticache-5-encrypted-in-transit", elasticache.REPLICATION_GROUP, {"transitEncryptionMode": "preferred"}, "'preferred'"),
    ("elasticache-7-no-default-subnet-group", elasticache.REPLICATION_GROUP, {"subnetGroupName": DELETE}, "default subnet group"),
    ("elasticache-7-no-default-subnet-group", elasticache.CACHE_CLUSTER, {"subnetGroupName": "default"}, "default subnet group"),
    ("msk-1-encrypted-in-transit", msk.CLUSTER, {"encryptionInfo": {"encryptionInTransit": {"inCluster": False}}}, "between brokers"),
    ("msk-1-encrypted-in-transit", msk.CLUSTER, {"encryptionInfo": {"encryptionInTransit": {"clientBroker": "TLS_PLAINTEXT"}}}, "plaintext"),
    ("msk-4-no-public-access", msk.CLUSTER, {"brokerNodeGroupInfo": {"connectivityInfo": {"publicAccess": {"type": "SERVICE_PROVIDED_EIPS"}}}}, "publicly reachable"),
    ("msk-6-no-unauthenticated-access", msk.CLUSTER, {"clientAuthentication": DELETE}, "unauthenticated"),
    ("msk-6-no-unauthenticated-access", msk.CLUSTER, {"clientAuthentication": {"unauthenticated": True}}, "unauthenticated client access"),
    ("elb-4-drop-invalid-headers", elb.LOAD_BALANCERS[0], {"dropInvalidHeaderFields": DELETE}, "invalid HTTP header"),
    ("elb-5-access-logging", elb.LOAD_BALANCERS[0], {"accessLogs": {"enabled": False}}, "access logs"),
    ("elb-5-access-logging", elb.LOAD_BALANCERS[1], {"accessLogs": DELETE}, "access logs"),
    ("elb-6-deletion-protection", elb.LOAD_BALANCERS[0], {"enableDeletionProtection": DELETE}, "deletion protection"),
    ("elb-12-desync-mitigation", elb.LOAD_BALANCERS[0], {"desyncMitigationMode": "monitor"}, "'monitor'"),
    ("elb-13-multiple-azs", elb.LOAD_BALANCERS[0], {"subnets": ["subnet-a"]}, "1 subnet(s)"),
    ("cloudfront-3-viewer-https", cloudfront.DISTRIBUTION, {"defaultCacheBehavior": {"viewerProtocolPolicy": "allow-all"}}, "'allow-all'"),
    ("cloudfront-3-viewer-https", cloudfront.DISTRIBUTION, {"orderedCacheBehaviors": [{"pathPattern": "/img/*", "viewerProtocolPolicy": "allow-all"}]}, "'/img/*'"),
    ("cloudfront-6-waf-enabled", cloudfront.DISTRIBUTION, {"webAclId": DELETE}, "no WAF"),
    ("cloudfront-7-custom-certificate", cloudfront.DISTRIBUTION, {"viewerCertificate": {"acmCertificateArn": DELETE, "cloudfrontDefaultCertificate": True}}, "default CloudFront certificate"),
    ("cloudfront-8-sni", cloudfront.DISTRIBUTION, {"viewerCertificate": {"sslSupportMethod": "vip"}}, "'vip'"),
    ("cloudfront-9-origin-encryption", cloudfront.DISTRIBUTION, {"origins": [{"originId": "o", "customOriginConfig": {"originProtocolPolicy": "http-only"}}]}, "plain HTTP"),
    ("cloudfront-9-origin-encryption", cloudfront.DISTRIBUTION, {"defaultCacheBehavior": {"viewerProtocolPolicy": "allow-all"}, "origins": [{"originId": "o", "customOriginConfig": {"originProtocolPolicy": "match-viewer"}}]}, "match-viewer"),
    ("cloudfront-10-no-deprecated-origin-tls", cloudfront.DISTRIBUTION, {"origins": [{"originId": "o", "customOriginConfig": {"originProtocolPolicy": "https-only", "originSslProtocols": ["SSLv3", "TLSv1.2"]}}]}, "SSLv3"),
    ("cloudfront-10-no-deprecated-origin-tls", cloudfront.VPC_ORIGIN, {"vpcOriginEndpointConfig": {"originSslProtocols": {"items": ["TLSv1", "TLSv1.2"]}}}, "TLSv1"),
    ("cloudfront-13-origin-access-control", cloudfront.DISTRIBUTION, {"origins": [{"originId": "site", "domainName": "site.s3.eu-west-1.amazonaws.com"}]}, "no origin access control"),
    ("cloudfront-13-origin-access-control", cloudfront.DISTRIBUTION, {"origins": [{"originId": "site", "domainName": "site.s3.eu-west-1.amazonaws.com", "s3OriginConfig": {"originAccessIdentity": "origin-access-identity/cloudfront/E1"}}]}, "legacy origin access identity"),
    ("cloudfront-15-recommended-tls-policy", cloudfront.DISTRIBUTION, {"viewerCertificate": {"minimumProtocolVersion": "TLSv1.1_2016"}}, "TLSv1.1_2016"),
    ("ec2-2-default-sg-no-rules", ec2.DEFAULT_SG, {"ingress": [{"protocol": "-1", "self": True, "fromPort": 0.0, "toPort": 0.0}]}, "1 ingress rule"),
    ("ec2-15-no-public-ip-on-launch", ec2.SUBNET, {"mapPublicIpOnLaunch": True}, "not tagged tier=public"),
    ("kms-4-key-rotation-enabled", kms.KEY, {"enableKeyRotation": DELETE}, "rotation is off"),
    (
        "wskms-1-service-linked-role-is-principal",
        kms.KEY,
        {
            "policy": json.dumps(
                {
                    "Statement": [
                        {
                            "Sid": "ServiceLinkedRolesUseKey",
                            "Effect": "Allow",
                            "Principal": {"AWS": "arn:aws:iam::1:root"},
                            "Action": "kms:Decrypt",
                            "Resource": "*",
                            "Condition": {
                                "ArnEquals": {
                                    "aws:PrincipalArn": "arn:aws:iam::1:role/aws-service-role/"
                                    "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
                                }
                            },
                        }
                    ]
                }
            )
        },
        "through aws:PrincipalArn on the account root",
    ),
    ("s3-8-block-public-access", s3.PUBLIC_ACCESS_BLOCK, {"restrictPublicBuckets": False}, "restrictPublicBuckets"),
]  # fmt: skip

# Stack policies: (policy, resources (type, name, output props), words the message must contain)
VPC = (ec2.VPC, "vpc", {"id": "vpc-1"})
BUCKET = (s3.BUCKETS[0], "logs", {"id": "webscale-prod-logs", "bucket": "webscale-prod-logs"})
DIST = (cloudfront.DISTRIBUTION, "cdn", {"arn": "arn:aws:cloudfront::1:distribution/E1"})
ALB = (elb.LOAD_BALANCERS[0], "alb", {"arn": "arn:alb", "internal": True, "loadBalancerType": "application"})
PUBLIC_ALB = (ALB[0], ALB[1], {**ALB[2], "internal": False})
HTTP_FORWARD = (
    elb.LISTENERS[0],
    "http",
    {"loadBalancerArn": "arn:alb", "protocol": "HTTP", "port": 80.0, "defaultActions": [{"type": "forward"}]},
)
HTTP_REDIRECT = (
    elb.LISTENERS[0],
    "http",
    {
        "loadBalancerArn": "arn:alb",
        "protocol": "HTTP",
        "port": 80.0,
        "defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTPS"}}],
    },
)
HTTPS = (elb.LISTENERS[0], "https", {"loadBalancerArn": "arn:alb", "port": 443.0, "certificateArn": "arn:acm"})
ORIGIN_HTTP = (
    cloudfront.VPC_ORIGIN,
    "origin",
    {"vpcOriginEndpointConfig": {"arn": "arn:alb", "originProtocolPolicy": "http-only"}},
)
ORIGIN_HTTPS = (
    cloudfront.VPC_ORIGIN,
    "origin",
    {"vpcOriginEndpointConfig": {"arn": "arn:alb", "originProtocolPolicy": "https-only"}},
)
DB_PRIMARY = (cloudwatch.RDS_INSTANCE, "db", {"identifier": "webscale-prod-db"})
CACHE_GROUP = (cloudwatch.CACHE_GROUP, "cache", {"replicationGroupId": "webscale-prod-cache"})
KAFKA = (cloudwatch.MSK_CLUSTER, "kafka", {"clusterName": "webscale-prod-kafka"})


def alarm_on(name: str, **dimensions: str) -> tuple[str, str, dict[str, Any]]:
    return (cloudwatch.ALARM, name, {"namespace": "AWS/X", "metricName": "M", "dimensions": dimensions})


WATCHED = [
    alarm_on("db-cpu", DBInstanceIdentifier="webscale-prod-db"),
    alarm_on("cache-cpu", CacheClusterId="webscale-prod-cache-002"),
    (
        cloudwatch.ALARM,
        "kafka-lag",
        {
            "metricQueries": [
                {"id": "lag", "metric": {"dimensions": {"Cluster Name": "webscale-prod-kafka", "Topic": "orders"}}},
            ]
        },
    ),
]
STACK_BAD: list[tuple[str, list[tuple[str, str, dict[str, Any]]], str]] = [
    (
        "elb-1-http-redirects-to-https",
        [ALB, HTTPS, HTTP_FORWARD, ORIGIN_HTTPS],
        "although the ALB has an HTTPS listener",
    ),
    ("elb-1-http-redirects-to-https", [ALB, HTTP_FORWARD], "not an internal CloudFront VPC origin"),
    ("elb-1-http-redirects-to-https", [PUBLIC_ALB, HTTP_FORWARD, ORIGIN_HTTP], "not an internal CloudFront VPC origin"),
    ("elb-1-http-redirects-to-https", [HTTP_FORWARD], "not in this stack"),
    ("elb-1-alb-without-certificate", [ALB, HTTP_FORWARD, ORIGIN_HTTP], "no HTTPS listener"),
    (
        "cloudfront-9-vpc-origin-encryption",
        [ALB, HTTPS, HTTP_REDIRECT, ORIGIN_HTTP],
        "although the ALB has an HTTPS listener",
    ),
    ("cloudfront-9-vpc-origin-encryption", [PUBLIC_ALB, HTTP_FORWARD, ORIGIN_HTTP], "internet-facing"),
    ("cloudfront-9-vpc-origin-encryption", [ORIGIN_HTTP], "outside this stack"),
    ("ec2-2-default-sg-adopted", [VPC], "default security group is not adopted"),
    ("ec2-2-default-sg-adopted", [VPC, (ec2.DEFAULT_SG, "sg", {"vpcId": "vpc-2"})], "not adopted"),
    ("ec2-6-vpc-flow-logs", [VPC], "no flow log"),
    ("ec2-6-vpc-flow-logs", [VPC, (ec2.FLOW_LOG, "fl", {"vpcId": "vpc-1", "trafficType": "ACCEPT"})], "no flow log"),
    ("s3-8-bucket-has-public-access-block", [BUCKET], "no aws.s3.BucketPublicAccessBlock"),
    ("s3-4-bucket-encryption-configured", [BUCKET], "no server-side encryption"),
    ("cloudfront-5-logging", [DIST], "access logging is off"),
    ("ops-1-stateful-resources-have-alarms", [DB_PRIMARY, CACHE_GROUP, KAFKA, *WATCHED[1:]], "no CloudWatch alarm"),
    ("ops-1-stateful-resources-have-alarms", [DB_PRIMARY, CACHE_GROUP, KAFKA, *WATCHED[:2]], "no CloudWatch alarm"),
    (
        "ops-1-stateful-resources-have-alarms",
        [
            DB_PRIMARY,
            CACHE_GROUP,
            KAFKA,
            WATCHED[0],
            alarm_on("other", CacheClusterId="webscale-prod-cachex-001"),
            WATCHED[2],
        ],
        "no CloudWatch alarm",
    ),
    (
        "cloudfront-5-logging",
        [DIST, (cloudfront.LOG_DELIVERY_SOURCE, "src", {"resourceArn": "arn:other", "logType": "ACCESS_LOGS"})],
        "access logging is off",
    ),
]
STACK_GOOD: list[tuple[str, list[tuple[str, str, dict[str, Any]]]]] = [
    ("ops-1-stateful-resources-have-alarms", [DB_PRIMARY, CACHE_GROUP, KAFKA, *WATCHED]),
    ("elb-1-http-redirects-to-https", [ALB, HTTPS, HTTP_REDIRECT, ORIGIN_HTTPS]),
    ("elb-1-http-redirects-to-https", [ALB, HTTP_FORWARD, ORIGIN_HTTP]),  # no certificate, internal VPC origin
    ("elb-1-alb-without-certificate", [ALB, HTTPS, ORIGIN_HTTPS]),
    ("cloudfront-9-vpc-origin-encryption", [ALB, HTTPS, ORIGIN_HTTPS]),
    ("cloudfront-9-vpc-origin-encryption", [ALB, HTTP_FORWARD, ORIGIN_HTTP]),  # no certificate, internal VPC origin
    ("ec2-2-default-sg-adopted", [VPC, (ec2.DEFAULT_SG, "sg", {"vpcId": "vpc-1"})]),
    ("ec2-6-vpc-flow-logs", [VPC, (ec2.FLOW_LOG, "fl", {"vpcId": "vpc-1", "trafficType": "ALL"})]),
    ("s3-8-bucket-has-public-access-block", [BUCKET, (s3.PUBLIC_ACCESS_BLOCK, "pab", {"bucket": "webscale-prod-logs"})]),
    ("s3-4-bucket-encryption-configured", [BUCKET, (s3.SSE_CONFIGS[0], "sse", {"bucket": "webscale-prod-logs"})]),
    ("cloudfront-5-logging", [DIST, (cloudfront.LOG_DELIVERY_SOURCE, "src", {"resourceArn": DIST[2]["arn"], "logType": "ACCESS_LOGS"})]),
    ("cloudfront-5-logging", [(DIST[0], DIST[1], {**DIST[2], "loggingConfig": {"bucket": "logs.s3.amazonaws.com"}})]),
]  # fmt: skip

AWS_POLICIES = [p for p in POLICIES if not p.name.startswith("k8s-")]


def test_every_aws_policy_has_a_bad_case():
    covered = {case[0] for case in BAD} | {case[0] for case in STACK_BAD}
    missing = sorted(p.name for p in AWS_POLICIES if p.name not in covered)
    assert AWS_POLICIES and not missing, f"policies without a negative test: {missing}"


@pytest.mark.parametrize("resource_type", sorted(GOOD))
def test_compliant_baseline_passes_every_policy(resource_type: str):
    resource_policies = [p for p in AWS_POLICIES if isinstance(p, ResourceValidationPolicy)]
    found = [m for p in resource_policies for m in violations(p.name, resource_type, GOOD[resource_type])]
    assert found == []


@pytest.mark.parametrize(
    ("policy", "resource_type", "change", "expected"), BAD, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD)]
)
def test_policy_catches_bad_resource(policy: str, resource_type: str, change: dict[str, Any], expected: str):
    found = violations(policy, resource_type, merged(GOOD[resource_type], change), name="bad-one")
    assert len(found) == 1, f"{policy} on {resource_type} {change}: {found}"
    assert expected in found[0], found[0]
    assert f"{resource_type} 'bad-one'" in found[0] and "Fix: " in found[0]


@pytest.mark.parametrize(
    ("policy", "resources", "expected"), STACK_BAD, ids=[f"{c[0]}-{i}" for i, c in enumerate(STACK_BAD)]
)
def test_stack_policy_catches_bad_stack(policy: str, resources: list, expected: str):
    found = stack_violations(policy, resources)
    assert len(found) == 1 and expected in found[0], found


@pytest.mark.parametrize(("policy", "resources"), STACK_GOOD, ids=[f"{c[0]}-{i}" for i, c in enumerate(STACK_GOOD)])
def test_stack_policy_passes_good_stack(policy: str, resources: list):
    assert stack_violations(policy, resources) == []


def test_violation_message_names_resource_control_and_fix():
    [message] = violations(
        "rds-2-no-public-access", rds.INSTANCE, {"publiclyAccessible": True}, name="database-primary"
    )
    assert message.startswith("aws:rds/instance:Instance 'database-primary' [RDS.2] ")
    assert message.endswith("Fix: set publicly_accessible=False on the aws.rds.Instance")


def test_public_tier_subnet_may_map_public_ips():
    props = {"mapPublicIpOnLaunch": True, "tags": {"tier": "public", "Name": "webscale-prod-public-a"}}
    assert violations("ec2-15-no-public-ip-on-launch", ec2.SUBNET, props) == []


def test_eks_public_endpoint_restricted_to_cidrs_is_accepted():
    props = merged(
        GOOD[eks.CLUSTER], {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}}
    )
    assert violations("eks-1-endpoint-not-public", eks.CLUSTER, props) == []


@pytest.mark.parametrize(
    ("version", "today", "supported"),
    [
        ("1.31", dt.date(2026, 11, 26), True),  # last day of extended support
        ("1.31", dt.date(2026, 11, 27), False),
        ("1.35", dt.date(2026, 11, 26), True),
        ("1.35.2", dt.date(2026, 11, 26), True),
        ("1.36", dt.date(2026, 11, 26), False),  # not listed yet: add it when EKS releases it
    ],
)
def test_eks_version_support_follows_the_calendar(version: str, today: dt.date, supported: bool):
    assert (eks.version_problems({"version": version}, today) == []) is supported


def test_rds_read_replica_inherits_encryption_and_backups():
    replica = merged(
        GOOD[rds.INSTANCE], {"replicateSourceDb": "primary", "storageEncrypted": DELETE, "backupRetentionPeriod": 0.0}
    )
    for policy in ("rds-3-storage-encrypted", "rds-11-automatic-backups", "rds-11-backup-retention-7-days"):
        assert violations(policy, rds.INSTANCE, replica) == [], policy


def test_cache_cluster_in_a_replication_group_is_judged_through_the_group():
    member = {"replicationGroupId": "webscale-prod-cache", "engine": "redis"}
    for policy in ("elasticache-1-automatic-backups", "elasticache-7-no-default-subnet-group"):
        assert violations(policy, elasticache.CACHE_CLUSTER, member) == [], policy


def test_valkey_is_encrypted_at_rest_by_default():
    props = merged(GOOD[elasticache.REPLICATION_GROUP], {"engine": "valkey", "atRestEncryptionEnabled": DELETE})
    assert violations("elasticache-4-encrypted-at-rest", elasticache.REPLICATION_GROUP, props) == []


def test_cloudfront_default_certificate_without_aliases_is_not_judged_on_tls_policy():
    props = merged(GOOD[cloudfront.DISTRIBUTION], {"aliases": DELETE, "viewerCertificate": {"acmCertificateArn": DELETE, "cloudfrontDefaultCertificate": True, "minimumProtocolVersion": "TLSv1"}})  # fmt: skip
    for policy in ("cloudfront-7-custom-certificate", "cloudfront-8-sni", "cloudfront-15-recommended-tls-policy"):
        assert violations(policy, cloudfront.DISTRIBUTION, props) == [], policy
