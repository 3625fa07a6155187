"""``<project>:database``: the PostgresDatabase component's configuration, defaults and rules."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from infra.args import ConfigModel, check_log_retention

SUPPORTED_MAJOR_VERSIONS = (14, 15, 16, 17)
"""PostgreSQL majors RDS supports in standard support (13 entered paid extended support in
2026). The only list of them: the parameter group family is derived from it."""

MAX_REPLICAS = 5
"""RDS allows up to 15 replicas; five already spread reads over every AZ more than once."""

MAX_SHARDS = 16
"""Writes spread over at most 16 primaries: past that, resharding moves and per-shard operations
(migrations, alarms, failovers) cost more than a bigger instance class would."""

INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)


class DatabaseArgs(ConfigModel):
    """``<project>:database`` in the stack configuration."""

    engine_version: str = "16"
    """PostgreSQL version (``major`` or ``major.minor``); the major must be one of
    SUPPORTED_MAJOR_VERSIONS. Default 16: with automatic minor upgrades on, pin the major only,
    or the next `pulumi up` after RDS upgrades the minor would try to downgrade it."""
    instance_class: str = "db.t4g.medium"
    """Instance class of the primary and the replicas, ``db.<family>.<size>``. Default
    db.t4g.medium: the smallest Graviton class with room for a connection pool."""
    allocated_storage_gb: int = Field(default=20, ge=20, le=65536)
    """Initial gp3 storage in GiB (20..65536). Default 20, the gp3 minimum."""
    max_allocated_storage_gb: int = Field(default=100, le=65536)
    """Ceiling for storage autoscaling in GiB; must be >= allocatedStorageGb. Default 100."""
    replica_count: int = Field(default=0, ge=0, le=MAX_REPLICAS)
    """Read replicas per shard, 0..5, placed one per AZ in turn. Default 0."""
    shards: int = Field(default=1, ge=1, le=MAX_SHARDS)
    """Primaries that split the writes by customer (consistent hashing in the app), 1..16; each
    gets this section's settings, its own key, parameter group, secret and replicas. Default 1:
    one primary takes far more orders than this app's target (see the README's Sharding section)."""
    multi_az: bool = True
    """A synchronous standby for the primary in another AZ. Default on: an AZ outage fails over in minutes."""
    deletion_protection: bool = True
    """RDS refuses to delete the instances. Default on: data lives here."""
    final_snapshot: bool = True
    """Take a final snapshot when the primary is deleted. Default on, for the same reason."""
    backup_retention_days: int = Field(default=7, le=35)
    """Days of automated backups, 1..35; >= 7 when deletion protection is on. Default 7."""
    monitoring_interval_seconds: int = 60
    """Enhanced monitoring granularity, one of 1, 5, 10, 15, 30, 60. Default 60 (the cheapest)."""
    performance_insights_retention_days: int = 7
    """Performance Insights retention: 7 (free tier) or a multiple of 31 up to 731. Default 7."""
    slow_query_ms: int = Field(default=500, ge=0)
    """Log statements slower than this (``log_min_duration_statement``). Default 500 ms."""
    log_retention_days: int = 30
    """Days to keep the exported PostgreSQL logs in CloudWatch. Default 30."""
    database_name: str = Field(default="app", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    """The database created on the primary. Default ``app``."""
    master_username: str = Field(default="dbadmin", pattern=r"^[a-z][a-z0-9_]{0,15}$")
    """Administrator login, for migrations and break-glass only. Default ``dbadmin``."""
    iam_database_user: str = Field(default="app", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    """The role the application logs in as with an IAM token (``GRANT rds_iam TO app``). Default ``app``."""
    apply_immediately: bool = False
    """Apply modifications (instance class, storage, version) at once instead of in the next
    maintenance window. Default off: a class change restarts the instance (a Multi-AZ
    failover at best), which belongs in the window. Until the window, ``pulumi preview``
    keeps showing the pending change. dev sets it on (nobody depends on it)."""
    allow_major_version_upgrade: bool = True
    """Let a change of ``engineVersion``'s major go through; RDS refuses one without this
    flag, and the flag alone upgrades nothing. Default on: the major is pinned in this
    configuration, so changing it is the intent. The parameter group (named by major) is
    replaced alongside; read replicas are upgraded by RDS with their source."""
    manage_master_user_password: bool = True
    """RDS generates the master password and keeps it in Secrets Manager (encrypted with the
    database's key, rotated every 7 days). Default on. AWS does not allow it with read
    replicas (all engines but SQL Server): with replicas set it false, and the component
    generates the password into its own KMS-encrypted secret instead."""

    @field_validator("engine_version")
    @classmethod
    def _supported_major(cls, version: str) -> str:
        if not re.fullmatch(r"\d+(\.\d+)?", version) or int(version.split(".")[0]) not in SUPPORTED_MAJOR_VERSIONS:
            raise ValueError(
                f"must be a PostgreSQL version whose major is one of {', '.join(map(str, SUPPORTED_MAJOR_VERSIONS))}"
            )
        return version

    @field_validator("instance_class")
    @classmethod
    def _instance_class(cls, value: str) -> str:
        if not INSTANCE_CLASS.fullmatch(value):
            raise ValueError("must look like db.<family>.<size>, for example db.r7g.large")
        return value

    @field_validator("backup_retention_days")
    @classmethod
    def _backups_on(cls, days: int) -> int:
        if days < 1:
            raise ValueError("must be at least 1: read replicas and point-in-time recovery need automated backups")
        return days

    @field_validator("monitoring_interval_seconds")
    @classmethod
    def _monitoring(cls, seconds: int) -> int:
        if seconds not in MONITORING_INTERVALS:
            raise ValueError(
                f"must be one of {', '.join(map(str, MONITORING_INTERVALS))} (enhanced monitoring stays on)"
            )
        return seconds

    @field_validator("performance_insights_retention_days")
    @classmethod
    def _pi_retention(cls, days: int) -> int:
        if days != 7 and (days % 31 or not 31 <= days <= 731):
            raise ValueError("must be 7 or a multiple of 31 up to 731")
        return days

    @field_validator("log_retention_days")
    @classmethod
    def _log_retention(cls, days: int) -> int:
        return check_log_retention(days)

    @model_validator(mode="after")
    def _consistent(self) -> DatabaseArgs:
        if self.max_allocated_storage_gb < self.allocated_storage_gb:
            raise ValueError(
                f"maxAllocatedStorageGb ({self.max_allocated_storage_gb}) must be >= allocatedStorageGb "
                f"({self.allocated_storage_gb})"
            )
        if self.deletion_protection and self.backup_retention_days < 7:
            raise ValueError(
                f"backupRetentionDays ({self.backup_retention_days}) must be >= 7 when deletionProtection is true: "
                "a database worth protecting is worth a week of point-in-time recovery"
            )
        if self.manage_master_user_password and self.replica_count > 0:
            raise ValueError(
                f"manageMasterUserPassword: true cannot be combined with replicaCount: {self.replica_count}: AWS "
                "rejects read replicas of a source whose master password RDS manages in Secrets Manager (all engines "
                "but SQL Server). Set manageMasterUserPassword: false (the component then keeps a generated password "
                "in its own KMS-encrypted secret) or replicaCount: 0"
            )
        return self

    @property
    def major_version(self) -> int:
        return int(self.engine_version.split(".")[0])
