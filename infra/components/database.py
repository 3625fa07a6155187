"""The PostgresDatabase component: an RDS PostgreSQL primary and its read replicas.

The primary takes writes; N replicas (0..5) take reads, one per AZ in turn. All of it
lives in the isolated subnets, admits only the given client security groups, is
encrypted with one customer-managed key, and the app connects with IAM auth.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random
from pydantic import Field, field_validator, model_validator

from infra.args import ConfigModel, check_log_retention
from infra.components.data_access import encrypted_log_group, store_foundation
from infra.components.network import Network
from infra.naming import stack_name

SUPPORTED_MAJOR_VERSIONS = (14, 15, 16, 17)
"""PostgreSQL majors RDS supports in standard support (13 entered paid extended support in
2026). The only list of them: the parameter group family is derived from it."""

MAX_REPLICAS = 5
"""RDS allows up to 15 replicas; five already spread reads over every AZ more than once."""

INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)
LOG_EXPORTS = ("postgresql", "upgrade")
PORT = 5432


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
    """Read replicas, 0..5, placed one per AZ in turn. Default 0."""
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


def postgres_parameters(args: DatabaseArgs) -> dict[str, str]:
    """The parameter group's settings: TLS only, slow queries and DDL logged."""
    return {
        "rds.force_ssl": "1",
        "log_min_duration_statement": str(args.slow_query_ms),
        "log_statement": "ddl",
        "log_connections": "1",
        "log_disconnections": "1",
    }


def replica_zones(zones: Sequence[str], count: int) -> list[str]:
    """The AZ of each replica: round-robin, so no two share an AZ until every AZ has one."""
    return [zones[i % len(zones)] for i in range(count)]


def monitoring_trust_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "monitoring.rds.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


class PostgresDatabase(pulumi.ComponentResource):
    """An RDS PostgreSQL primary with read replicas, in the isolated subnets."""

    writer_endpoint: pulumi.Output[str]
    reader_endpoints: list[pulumi.Output[str]]
    port: int
    security_group_id: pulumi.Output[str]
    database_name: str
    primary_resource_id: pulumi.Output[str]
    replica_resource_ids: list[pulumi.Output[str]]
    iam_database_user: str
    master_user_secret_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: DatabaseArgs,
        *,
        network: Network,
        allowed_security_group_ids: Sequence[pulumi.Input[str]],
        protect: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("webscale:index:PostgresDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key, sg = store_foundation(
            name,
            short_name="database",
            encrypts="the PostgreSQL storage, secrets, insights and logs",
            network=network,
            port=PORT,
            service="PostgreSQL",
            allowed_security_group_ids=allowed_security_group_ids,
            protect=protect,
            parent=self,
        )
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            name=stack_name("database"),
            description="Isolated subnets: no route to the internet",
            subnet_ids=network.isolated_subnet_ids,
            opts=child,
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            name=stack_name("database", f"pg{args.major_version}"),
            family=f"postgres{args.major_version}",
            description="TLS only; slow queries, DDL and connections logged",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name=k, value=v, apply_method="pending-reboot")
                for k, v in postgres_parameters(args).items()
            ],
            opts=child,
        )
        monitoring_role = aws.iam.Role(f"{name}-monitoring", assume_role_policy=monitoring_trust_policy(), opts=child)
        partition = aws.get_partition(opts=pulumi.InvokeOptions(parent=self)).partition
        monitoring_policy = aws.iam.RolePolicyAttachment(
            f"{name}-monitoring",
            role=monitoring_role.name,
            policy_arn=f"arn:{partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
            opts=pulumi.ResourceOptions(parent=monitoring_role),
        )

        # Settings the primary and the replicas share.
        common: dict[str, Any] = dict(
            instance_class=args.instance_class,
            engine="postgres",
            engine_version=args.engine_version,
            storage_type="gp3",
            max_allocated_storage=args.max_allocated_storage_gb,
            storage_encrypted=True,
            kms_key_id=key.arn,
            parameter_group_name=parameters.name,
            vpc_security_group_ids=[sg.id],
            publicly_accessible=False,
            iam_database_authentication_enabled=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=key.arn,
            performance_insights_retention_period=args.performance_insights_retention_days,
            monitoring_interval=args.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role.arn,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=args.allow_major_version_upgrade,
            apply_immediately=args.apply_immediately,
            copy_tags_to_snapshot=True,
            deletion_protection=args.deletion_protection,
        )

        identifier = stack_name("db")
        credentials, secret_arn = self._credentials(name, args, key)
        primary = aws.rds.Instance(
            f"{name}-primary",
            identifier=identifier,
            db_name=args.database_name,
            username=args.master_username,
            allocated_storage=args.allocated_storage_gb,
            db_subnet_group_name=subnets.name,
            multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days,
            skip_final_snapshot=not args.final_snapshot,
            final_snapshot_identifier=self._final_snapshot_identifier(name, args),
            **credentials,
            **common,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=protect,
                depends_on=[monitoring_policy, *self._log_groups(f"{name}-primary", identifier, args, key)],
            ),
        )

        replicas = []
        for i, zone in enumerate(replica_zones(network.availability_zones, args.replica_count)):
            replica_id = stack_name("db-replica", str(i + 1))
            # A replica inherits the master user and its password from the source
            # (physical replication): no username, password or managed secret here.
            # Backups are required on the source in order to create a replica.
            replicas.append(
                aws.rds.Instance(
                    f"{name}-replica-{i + 1}",
                    identifier=replica_id,
                    replicate_source_db=primary.identifier,
                    availability_zone=zone,
                    skip_final_snapshot=True,  # RDS takes no final snapshot of a replica
                    **common,
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        protect=protect,
                        depends_on=self._log_groups(f"{name}-replica-{i + 1}", replica_id, args, key),
                    ),
                )
            )

        self.writer_endpoint = primary.endpoint
        self.reader_endpoints = [r.endpoint for r in replicas]
        self.port = PORT
        self.security_group_id = sg.id
        self.database_name = args.database_name
        self.primary_resource_id = primary.resource_id
        self.replica_resource_ids = [r.resource_id for r in replicas]
        self.iam_database_user = args.iam_database_user
        self.master_user_secret_arn = (
            primary.master_user_secrets.apply(lambda s: s[0].secret_arn or "") if secret_arn is None else secret_arn
        )
        self.register_outputs(
            {
                "writer_endpoint": self.writer_endpoint,
                "reader_endpoints": self.reader_endpoints,
                "port": self.port,
                "security_group_id": self.security_group_id,
                "database_name": self.database_name,
                "primary_resource_id": self.primary_resource_id,
                "replica_resource_ids": self.replica_resource_ids,
                "iam_database_user": self.iam_database_user,
                "master_user_secret_arn": self.master_user_secret_arn,
            }
        )

    def _final_snapshot_identifier(self, name: str, args: DatabaseArgs) -> pulumi.Output[str] | None:
        """Unique per life of the stack: snapshots outlive the stack, so a fixed identifier
        would make the second deletion of a re-created stack fail (the snapshot exists)."""
        if not args.final_snapshot:
            return None
        suffix = random.RandomId(f"{name}-final-snapshot", byte_length=4, opts=pulumi.ResourceOptions(parent=self))
        return pulumi.Output.concat(stack_name("db-final"), "-", suffix.hex)

    def _credentials(
        self, name: str, args: DatabaseArgs, key: aws.kms.Key
    ) -> tuple[dict[str, Any], pulumi.Output[str] | None]:
        """The primary's password arguments, and the secret's ARN when the component owns the secret."""
        if args.manage_master_user_password:
            return {"manage_master_user_password": True, "master_user_secret_kms_key_id": key.arn}, None
        # RDS cannot manage the password of a replicated source, so generate one into a
        # secret of our own. It only ever travels as a Pulumi secret.
        password = random.RandomPassword(
            f"{name}-master",
            length=32,
            special=True,
            override_special="!#$%&*()-_=+[]{}<>:?",  # RDS forbids / " @ and spaces
            opts=pulumi.ResourceOptions(parent=self),
        )
        secret = aws.secretsmanager.Secret(
            f"{name}-master",
            # A prefix, not a name: a deleted secret keeps its name for the 30-day recovery
            # window, so a fixed name would block re-creating the stack within that month.
            name_prefix=f"{stack_name('database', 'master')}-",
            description="Master credentials of the PostgreSQL primary (break-glass; the app uses IAM auth)",
            kms_key_id=key.arn,
            recovery_window_in_days=30,
            opts=pulumi.ResourceOptions(parent=self),
        )
        document: pulumi.Output[str] = pulumi.Output.json_dumps(
            {"username": args.master_username, "password": password.result}
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-master",
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(document),  # type: ignore[arg-type]  # the SDK's generic signature infers Never
            opts=pulumi.ResourceOptions(parent=secret),
        )
        return {"password": password.result}, secret.arn

    def _log_groups(self, name: str, identifier: str, args: DatabaseArgs, key: aws.kms.Key) -> list[pulumi.Resource]:
        """The groups RDS exports into, made first so they have a retention and our key."""
        return [
            encrypted_log_group(
                f"{name}-{export}-logs",
                log_group_name=f"/aws/rds/instance/{identifier}/{export}",
                retention_days=args.log_retention_days,
                key=key,
                parent=self,
            )
            for export in LOG_EXPORTS
        ]
