"""RDS: DB subnet groups, parameter groups and instances (primaries and read replicas), in moto."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from infra.offline.registry import Created, Ctx, translator


@translator("aws:rds/subnetGroup:SubnetGroup")
def subnet_group(ctx: Ctx) -> Created:
    name = ctx.physical_name(max_len=255)
    g = ctx.client("rds").create_db_subnet_group(
        DBSubnetGroupName=name,
        DBSubnetGroupDescription=ctx.inputs.get("description") or "Managed by Pulumi",
        SubnetIds=ctx.inputs["subnetIds"],
        Tags=ctx.tag_list(),
    )["DBSubnetGroup"]
    return Created(name, {"arn": g["DBSubnetGroupArn"], "name": name, "vpcId": g["VpcId"]})


@translator("aws:rds/parameterGroup:ParameterGroup")
def parameter_group(ctx: Ctx) -> Created:
    rds = ctx.client("rds")
    name = ctx.physical_name(max_len=255)
    g = rds.create_db_parameter_group(
        DBParameterGroupName=name,
        DBParameterGroupFamily=ctx.inputs["family"],
        Description=ctx.inputs.get("description") or "Managed by Pulumi",
        Tags=ctx.tag_list(),
    )["DBParameterGroup"]
    parameters = [
        {
            "ParameterName": p["name"],
            "ParameterValue": str(p["value"]),
            "ApplyMethod": p.get("applyMethod", "immediate"),
        }
        for p in ctx.inputs.get("parameters") or []
    ]
    if parameters:
        rds.modify_db_parameter_group(DBParameterGroupName=name, Parameters=parameters)
    return Created(name, {"arn": g["DBParameterGroupArn"], "name": name})


# Pulumi input -> CreateDBInstance / CreateDBInstanceReadReplica argument, where both take it.
_SHARED = {
    "instanceClass": "DBInstanceClass",
    "availabilityZone": "AvailabilityZone",
    "kmsKeyId": "KmsKeyId",
    "vpcSecurityGroupIds": "VpcSecurityGroupIds",
    "parameterGroupName": "DBParameterGroupName",
    "publiclyAccessible": "PubliclyAccessible",
    "multiAz": "MultiAZ",
    "storageType": "StorageType",
    "maxAllocatedStorage": "MaxAllocatedStorage",
    "iamDatabaseAuthenticationEnabled": "EnableIAMDatabaseAuthentication",
    "performanceInsightsEnabled": "EnablePerformanceInsights",
    "performanceInsightsKmsKeyId": "PerformanceInsightsKMSKeyId",
    "performanceInsightsRetentionPeriod": "PerformanceInsightsRetentionPeriod",
    "monitoringInterval": "MonitoringInterval",
    "monitoringRoleArn": "MonitoringRoleArn",
    "enabledCloudwatchLogsExports": "EnableCloudwatchLogsExports",
    "autoMinorVersionUpgrade": "AutoMinorVersionUpgrade",
    "copyTagsToSnapshot": "CopyTagsToSnapshot",
    "deletionProtection": "DeletionProtection",
    "port": "Port",
}
_PRIMARY_ONLY = {
    "engine": "Engine",
    "engineVersion": "EngineVersion",
    "allocatedStorage": "AllocatedStorage",
    "dbName": "DBName",
    "username": "MasterUsername",
    "password": "MasterUserPassword",
    "manageMasterUserPassword": "ManageMasterUserPassword",
    "masterUserSecretKmsKeyId": "MasterUserSecretKmsKeyId",
    "dbSubnetGroupName": "DBSubnetGroupName",
    "backupRetentionPeriod": "BackupRetentionPeriod",
    "storageEncrypted": "StorageEncrypted",
}
_INTEGERS = {
    "AllocatedStorage",
    "MaxAllocatedStorage",
    "BackupRetentionPeriod",
    "MonitoringInterval",
    "PerformanceInsightsRetentionPeriod",
    "Port",
}
_CREDENTIALS = ("username", "password", "manageMasterUserPassword")


def _arguments(inputs: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    args = {api: inputs[key] for key, api in mapping.items() if inputs.get(key) is not None}
    return {k: int(v) if k in _INTEGERS else v for k, v in args.items()}


def _resource_id(identifier: str) -> str:
    """moto gives every instance the same DbiResourceId; derive a distinct, stable one."""
    digest = base64.b32encode(hashlib.sha256(identifier.encode()).digest()).decode()
    return f"db-{digest[:26]}"


@translator("aws:rds/instance:Instance")
def instance(ctx: Ctx) -> Created:
    rds = ctx.client("rds")
    identifier = ctx.physical_name("identifier", "identifierPrefix")
    source = ctx.inputs.get("replicateSourceDb")
    note = "DbiResourceId derived from the identifier (moto returns one fixed id for every instance)"
    if source:
        # What AWS (and the provider) refuse and moto lets through.
        given = [k for k in _CREDENTIALS if ctx.inputs.get(k)]
        if given:
            raise ValueError(f"a read replica inherits its credentials from the source; do not set {given}")
        origin = rds.describe_db_instances(DBInstanceIdentifier=source)["DBInstances"][0]
        if origin.get("MasterUserSecret"):
            raise ValueError(
                f"InvalidParameterValue: creating read replicas for source instance {source} where "
                "ManageMasterUserPassword is enabled is not supported (AWS rule, enforced here)"
            )
        db = rds.create_db_instance_read_replica(
            DBInstanceIdentifier=identifier,
            SourceDBInstanceIdentifier=source,
            Tags=ctx.tag_list(),
            **_arguments(ctx.inputs, _SHARED),
        )["DBInstance"]
    else:
        db = rds.create_db_instance(
            DBInstanceIdentifier=identifier,
            Tags=ctx.tag_list(),
            **_arguments(ctx.inputs, {**_SHARED, **_PRIMARY_ONLY}),
        )["DBInstance"]
    endpoint = db["Endpoint"]
    secret = db.get("MasterUserSecret")
    return Created(
        identifier,
        {
            "identifier": identifier,
            "arn": db["DBInstanceArn"],
            "address": endpoint["Address"],
            "port": endpoint["Port"],
            "endpoint": f"{endpoint['Address']}:{endpoint['Port']}",
            "hostedZoneId": "Z29XKXDKYMONMX",
            "resourceId": _resource_id(identifier),
            "availabilityZone": db.get("AvailabilityZone"),
            "engineVersionActual": db.get("EngineVersion"),
            "status": db.get("DBInstanceStatus", "available"),
            "username": db.get("MasterUsername"),
            "masterUserSecrets": (
                [{"secretArn": secret["SecretArn"], "kmsKeyId": secret.get("KmsKeyId"), "secretStatus": "active"}]
                if secret
                else []
            ),
            "replicas": db.get("ReadReplicaDBInstanceIdentifiers", []),
        },
        note=note,
    )
