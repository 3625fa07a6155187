"""RDS DB instance rules (the stack's PostgreSQL primary and its read replicas).

A read replica (``replicateSourceDb`` set) inherits storage encryption and backups from its
source, so RDS.3 and RDS.11 judge the source; every other rule applies to replicas too.
Aurora clusters (``aws:rds/cluster:Cluster``) are not used by this stack and not covered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.policies.rules._rule import ADVISORY, Control, Problems, get, resource_rule

INSTANCE = "aws:rds/instance:Instance"

DEFAULT_PORTS = {
    "postgres": 5432,
    "aurora-postgresql": 5432,
    "mysql": 3306,
    "mariadb": 3306,
    "aurora-mysql": 3306,
    "oracle": 1521,
    "sqlserver": 1433,
    "db2": 50000,
}

# RDS.9: the log types each engine must export to CloudWatch Logs.
REQUIRED_LOG_EXPORTS = {
    "postgres": ("postgresql", "upgrade"),
    "mysql": ("audit", "error", "general", "slowquery"),
    "mariadb": ("audit", "error", "general", "slowquery"),
    "oracle": ("alert", "audit", "listener", "trace"),
    "sqlserver": ("agent", "error"),
}

MIN_BACKUP_DAYS = 1
RECOMMENDED_BACKUP_DAYS = 7


def _engine_family(props: Mapping[str, Any]) -> str:
    engine = str(get(props, "engine", default=""))
    for family in ("postgres", "mysql", "mariadb", "oracle", "sqlserver", "db2"):
        if engine.startswith(family) or engine.startswith(f"aurora-{family}"):
            return family
    return engine


def is_replica(props: Mapping[str, Any]) -> bool:
    return bool(get(props, "replicateSourceDb"))


def _flag(props: Mapping[str, Any], key: str, default: bool, problem: str) -> Problems:
    return [] if get(props, key, default=default) else [problem]


def public_access_problems(props: Mapping[str, Any]) -> Problems:
    return ["the instance is publicly accessible"] if get(props, "publiclyAccessible", default=False) else []


def storage_encryption_problems(props: Mapping[str, Any]) -> Problems:
    if is_replica(props):
        return []  # a replica is encrypted exactly when its source is
    return _flag(props, "storageEncrypted", False, "storage is not encrypted")


def multi_az_problems(props: Mapping[str, Any]) -> Problems:
    return _flag(props, "multiAz", False, "the instance is single-AZ")


def enhanced_monitoring_problems(props: Mapping[str, Any]) -> Problems:
    interval = float(get(props, "monitoringInterval", default=0))
    ok = interval > 0 and get(props, "monitoringRoleArn")
    return [] if ok else ["enhanced monitoring is off (monitoring_interval 0 or no monitoring role)"]


def deletion_protection_problems(props: Mapping[str, Any]) -> Problems:
    return _flag(props, "deletionProtection", False, "deletion protection is off")


def log_export_problems(props: Mapping[str, Any]) -> Problems:
    required = REQUIRED_LOG_EXPORTS.get(_engine_family(props), ())
    exported = set(get(props, "enabledCloudwatchLogsExports", default=[]))
    if not exported:
        return ["no logs are exported to CloudWatch Logs"]
    missing = [t for t in required if t not in exported]
    return [f"log types {missing} are not exported to CloudWatch Logs"] if missing else []


def iam_auth_problems(props: Mapping[str, Any]) -> Problems:
    return _flag(props, "iamDatabaseAuthenticationEnabled", False, "IAM database authentication is off")


def backup_problems(props: Mapping[str, Any], minimum: int = MIN_BACKUP_DAYS) -> Problems:
    if is_replica(props):
        return []  # Security Hub does not evaluate read replicas; point-in-time recovery lives on the source
    # The provider leaves the retention to RDS when unset (1 day via the API): say it explicitly.
    days = get(props, "backupRetentionPeriod")
    if days is None:
        return ["backup_retention_period is not set"]
    return [f"automatic backups are kept {int(days)} day(s), fewer than {minimum}"] if float(days) < minimum else []


def recommended_backup_problems(props: Mapping[str, Any]) -> Problems:
    return backup_problems(props, RECOMMENDED_BACKUP_DAYS)


def minor_upgrade_problems(props: Mapping[str, Any]) -> Problems:
    return _flag(props, "autoMinorVersionUpgrade", True, "automatic minor version upgrades are off")


def copy_tags_problems(props: Mapping[str, Any]) -> Problems:
    return _flag(props, "copyTagsToSnapshot", False, "tags are not copied to snapshots")


def default_port_problems(props: Mapping[str, Any]) -> Problems:
    default = DEFAULT_PORTS.get(str(get(props, "engine", default="")))
    port = get(props, "port")
    port = default if port is None else int(float(port))
    return [f"the instance listens on its engine's default port {port}"] if default and port == default else []


def _rule(name: str, control_id: str, title: str, check, fix: str, **kwargs):  # type: ignore[no-untyped-def]
    return resource_rule(
        name, Control(control_id, title), [INSTANCE], check, f"{fix} on the aws.rds.Instance", **kwargs
    )


POLICIES = [
    _rule(
        "rds-2-no-public-access",
        "RDS.2",
        "RDS DB Instances should prohibit public access, as determined by the PubliclyAccessible configuration",
        public_access_problems,
        "set publicly_accessible=False",
    ),
    _rule(
        "rds-3-storage-encrypted",
        "RDS.3",
        "RDS DB instances should have encryption at-rest enabled",
        storage_encryption_problems,
        "set storage_encrypted=True (and kms_key_id to the stack's key)",
        why="Read replicas inherit encryption from their source and are judged through it.",
    ),
    _rule(
        "rds-5-multi-az",
        "RDS.5",
        "RDS DB instances should be configured with multiple Availability Zones",
        multi_az_problems,
        "set multi_az=True (webscale:database multiAz in the stack file)",
        level=ADVISORY,
        why="Advisory: an availability setting that dev relaxes on purpose to save cost.",
    ),
    _rule(
        "rds-6-enhanced-monitoring",
        "RDS.6",
        "Enhanced monitoring should be configured for RDS DB instances",
        enhanced_monitoring_problems,
        "set monitoring_interval (1-60 s) and monitoring_role_arn",
    ),
    _rule(
        "rds-8-deletion-protection",
        "RDS.8",
        "RDS DB instances should have deletion protection enabled",
        deletion_protection_problems,
        "set deletion_protection=True",
        level=ADVISORY,
        why="Advisory: dev turns it off so the stack can be destroyed.",
    ),
    _rule(
        "rds-9-logs-to-cloudwatch",
        "RDS.9",
        "RDS DB instances should publish logs to CloudWatch Logs",
        log_export_problems,
        'set enabled_cloudwatch_logs_exports (PostgreSQL: ["postgresql", "upgrade"])',
    ),
    _rule(
        "rds-10-iam-authentication",
        "RDS.10",
        "IAM authentication should be configured for RDS instances",
        iam_auth_problems,
        "set iam_database_authentication_enabled=True",
    ),
    _rule(
        "rds-11-automatic-backups",
        "RDS.11",
        "RDS instances should have automatic backups enabled",
        backup_problems,
        f"set backup_retention_period to at least {MIN_BACKUP_DAYS} (the recommended minimum is {RECOMMENDED_BACKUP_DAYS})",
        why="Mandatory part: backups on (retention >= 1 day, set explicitly). Read replicas are not evaluated.",
    ),
    _rule(
        "rds-11-backup-retention-7-days",
        "RDS.11",
        "RDS instances should have automatic backups enabled",
        recommended_backup_problems,
        f"set backup_retention_period to at least {RECOMMENDED_BACKUP_DAYS}",
        level=ADVISORY,
        why=f"Advisory part: the control's default minimum retention is {RECOMMENDED_BACKUP_DAYS} days; dev keeps fewer.",
    ),
    _rule(
        "rds-13-auto-minor-version-upgrade",
        "RDS.13",
        "RDS automatic minor version upgrades should be enabled",
        minor_upgrade_problems,
        "set auto_minor_version_upgrade=True (the default)",
    ),
    _rule(
        "rds-17-copy-tags-to-snapshots",
        "RDS.17",
        "RDS DB instances should be configured to copy tags to snapshots",
        copy_tags_problems,
        "set copy_tags_to_snapshot=True",
    ),
    _rule(
        "rds-23-no-default-port",
        "RDS.23",
        "RDS instances should not use a database engine default port",
        default_port_problems,
        "set port to a non-default value (e.g. 5433 for PostgreSQL; clients read it from the outputs)",
        level=ADVISORY,
        why=(
            "Advisory: a non-default port only slows untargeted scans; the instance is already private and "
            "reachable only from listed security groups, which is the control that matters."
        ),
    ),
]
