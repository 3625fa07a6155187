"""The PostgresDatabase component: an RDS PostgreSQL primary and its read replicas.

The primary takes writes; N replicas (0..5) take reads, one per AZ in turn. All of it
lives in the isolated subnets, admits only the given client security groups, is
encrypted with one customer-managed key, and the app connects with IAM auth.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra.components.data_access import encrypted_log_group, store_foundation
from infra.components.database_args import MAX_REPLICAS, MAX_SHARDS, SUPPORTED_MAJOR_VERSIONS, DatabaseArgs
from infra.components.network import Network
from infra.naming import stack_name

__all__ = [
    "MAX_REPLICAS",
    "MAX_SHARDS",
    "SUPPORTED_MAJOR_VERSIONS",
    "DatabaseArgs",
    "PostgresDatabase",
    "postgres_parameters",
    "replica_zones",
    "shard_name",
    "shard_physical_name",
]

LOG_EXPORTS = ("postgresql", "upgrade")
PORT = 5432


def postgres_parameters(args: DatabaseArgs) -> dict[str, str]:
    """The parameter group's settings: TLS only, slow queries and DDL logged."""
    return {
        "rds.force_ssl": "1",
        "log_min_duration_statement": str(args.slow_query_ms),
        "log_statement": "ddl",
        "log_connections": "1",
        "log_disconnections": "1",
    }


def shard_name(index: int) -> str:
    """The name the app's hash ring knows a shard by: ``s0``, ``s1``, ... The ring places customers
    by these names, so they never change once a shard holds data."""
    return f"s{index}"


def shard_physical_name(index: int, base: str) -> str:
    """``db`` for the first shard (the names a one-shard stack always had, so adding shards
    replaces nothing), ``db-s2`` for the third."""
    return base if index == 0 else f"{base}-{shard_name(index)}"


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
    key_arn: pulumi.Output[str]
    """The KMS key of the storage and of the master secret: reading the secret needs kms:Decrypt on it."""
    primary_identifier: str
    replica_identifiers: list[str]
    """The instances' identifiers (the ``DBInstanceIdentifier`` of their CloudWatch metrics)."""
    instance_class: str
    allocated_storage_gb: int

    def __init__(
        self,
        name: str,
        args: DatabaseArgs,
        *,
        network: Network,
        allowed_security_group_ids: Sequence[pulumi.Input[str]],
        protect: bool = True,
        shard: int = 0,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("webscale:index:PostgresDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.shard_name = shard_name(shard)
        self._shard = shard
        physical = functools.partial(shard_physical_name, shard)
        key, sg = store_foundation(
            name,
            short_name=physical("database"),
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
            name=stack_name(physical("database")),
            description="Isolated subnets: no route to the internet",
            subnet_ids=network.isolated_subnet_ids,
            opts=child,
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            name=stack_name(physical("database"), f"pg{args.major_version}"),
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

        identifier = stack_name(physical("db"))
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
        replica_ids = []
        for i, zone in enumerate(replica_zones(network.availability_zones, args.replica_count)):
            replica_id = stack_name(physical("db-replica"), str(i + 1))
            replica_ids.append(replica_id)
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
        self.key_arn = key.arn
        self.primary_identifier = identifier
        self.replica_identifiers = replica_ids
        self.instance_class = args.instance_class
        self.allocated_storage_gb = args.allocated_storage_gb
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
                "key_arn": self.key_arn,
                "primary_identifier": self.primary_identifier,
                "replica_identifiers": self.replica_identifiers,
            }
        )

    def _final_snapshot_identifier(self, name: str, args: DatabaseArgs) -> pulumi.Output[str] | None:
        """Unique per life of the stack: snapshots outlive the stack, so a fixed identifier
        would make the second deletion of a re-created stack fail (the snapshot exists)."""
        if not args.final_snapshot:
            return None
        suffix = random.RandomId(f"{name}-final-snapshot", byte_length=4, opts=pulumi.ResourceOptions(parent=self))
        return pulumi.Output.concat(stack_name(shard_physical_name(self._shard, "db-final")), "-", suffix.hex)

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
            name_prefix=f"{stack_name(shard_physical_name(self._shard, 'database'), 'master')}-",
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
