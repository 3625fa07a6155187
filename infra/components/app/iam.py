"""Pure builders of the app's IAM policies: one per service account, least privilege.

Nothing here creates a resource; each function returns a policy document for concrete
ARNs, so the tests can read exactly what each process may do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from infra.components.app.processes import TOPICS, Process, dlq

Statement = dict[str, Any]


def document(statements: Sequence[Statement]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def rds_db_user_arns(partition: str, region: str, account: str, resource_ids: Sequence[str], db_user: str) -> list[str]:
    """``arn:aws:rds-db:<region>:<account>:dbuser:<DbiResourceId>/<user>`` for each instance."""
    if not resource_ids or not db_user:
        raise ValueError("rds-db:connect needs at least one DbiResourceId and a database user")
    return [f"arn:{partition}:rds-db:{region}:{account}:dbuser:{rid}/{db_user}" for rid in resource_ids]


def rds_connect(db_user_arns: Sequence[str]) -> Statement:
    """Log in as the IAM database user on the primary and every replica (an auth token, no password)."""
    return {"Sid": "RdsIamConnect", "Effect": "Allow", "Action": "rds-db:connect", "Resource": list(db_user_arns)}


def master_secret_read(secret_arn: str | list[str], key_arn: str | list[str], region: str) -> list[Statement]:
    """Read one secret (one per shard: a list), and decrypt with its key only on Secrets Manager's behalf."""
    return [
        {
            "Sid": "ReadMasterSecret",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secret_arn,
        },
        {
            "Sid": "DecryptMasterSecret",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
        },
    ]


def elasticache_connect(replication_group_arn: str, user_arn: str) -> Statement:
    """ElastiCache IAM auth checks both the replication group and the user."""
    return {
        "Sid": "ElastiCacheIamConnect",
        "Effect": "Allow",
        "Action": "elasticache:Connect",
        "Resource": [replication_group_arn, user_arn],
    }


def kafka_arn(cluster_arn: str, kind: str, name: str, *, cluster_name: str | None = None) -> str:
    """The ARN of a topic or group of an MSK cluster.

    ``arn:aws:kafka:<r>:<a>:cluster/<cluster name>/<uuid>`` ->
    ``arn:aws:kafka:<r>:<a>:<kind>/<cluster name>/<uuid>/<topic or group>``. The uuid is the
    ARN's last segment; ``cluster_name`` fills in the name when the ARN lacks it (moto's do).
    """
    prefix, sep, path = cluster_arn.partition(":cluster/")
    segments = path.split("/")
    if not sep or not all(segments) or len(segments) > 2 or (len(segments) == 1 and not cluster_name):
        raise ValueError(f"{cluster_arn!r} is not an MSK cluster ARN (…:cluster/<name>/<uuid>)")
    uuid = segments[-1]
    cluster = cluster_name or segments[0]
    if kind not in ("topic", "group", "transactional-id"):
        raise ValueError(f"unknown MSK resource kind {kind!r}")
    return f"{prefix}:{kind}/{cluster}/{uuid}/{name}"


def kafka_statements(cluster_arn: str, process: Process, *, cluster_name: str | None = None) -> list[Statement]:
    """What ``process`` may do on the cluster: connect, its own topics, its own group."""

    def arn(kind: str, name: str) -> str:
        return kafka_arn(cluster_arn, kind, name, cluster_name=cluster_name)

    if not process.uses_kafka:
        return []
    cluster_actions = ["kafka-cluster:Connect"]
    if process.produces:
        cluster_actions.append("kafka-cluster:WriteDataIdempotently")  # the app's producer is idempotent
    statements: list[Statement] = [
        {"Sid": "MskConnect", "Effect": "Allow", "Action": cluster_actions, "Resource": cluster_arn}
    ]
    if process.consumes:
        statements.append(
            {
                "Sid": "MskReadOwnTopics",
                "Effect": "Allow",
                "Action": ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
                "Resource": [arn("topic", t) for t in process.consumes],
            }
        )
        statements.append(
            {
                "Sid": "MskOwnConsumerGroup",
                "Effect": "Allow",
                "Action": ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"],
                "Resource": arn("group", process.name),
            }
        )
    if process.produces:
        statements.append(
            {
                "Sid": "MskWriteOwnTopics",
                "Effect": "Allow",
                "Action": ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
                "Resource": [arn("topic", t) for t in process.produces],
            }
        )
    if process.creates_topics:
        statements.append(
            {
                "Sid": "MskManageAppTopics",
                "Effect": "Allow",
                "Action": ["kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic", "kafka-cluster:AlterTopic"],
                "Resource": [arn("topic", t) for t in app_topics()],
            }
        )
    return statements


def app_topics() -> list[str]:
    """Every topic the app owns, dead-letter topics included."""
    return [name for t in TOPICS for name in (t, dlq(t))]


def process_policy(
    process: Process,
    *,
    db_user_arns: Sequence[str],
    cache_arns: tuple[str, str],
    kafka_cluster_arn: str,
    kafka_cluster_name: str | None = None,
    master_secret: tuple[str | list[str], str | list[str], str] | None = None,
) -> dict[str, Any] | None:
    """The whole policy of one process's service account; ``None`` when it needs none.

    ``master_secret``: (secret ARN, key ARN, region), for the process that creates the login;
    with several shards, the ARNs are lists (each statement lists them all, so the Sids stay unique).
    """
    statements: list[Statement] = []
    if process.creates_database_login:
        if master_secret is None:
            raise ValueError(f"{process.name} creates the database login and needs the master secret")
        statements += master_secret_read(*master_secret)
    elif process.uses_database:
        statements.append(rds_connect(db_user_arns))
    if process.uses_cache:
        statements.append(elasticache_connect(*cache_arns))
    statements += kafka_statements(kafka_cluster_arn, process, cluster_name=kafka_cluster_name)
    return document(statements) if statements else None


def keda_lag_reader_policy(
    cluster_arn: str, consumers: Sequence[Process], *, cluster_name: str | None = None
) -> dict[str, Any]:
    """What the KEDA operator needs to read the lag of the workers' groups, and no more.

    Lag = end offsets (DescribeTopic on the topic) minus committed offsets (DescribeGroup).
    """
    topics = sorted({t for p in consumers for t in p.consumes})
    groups = sorted(p.name for p in consumers if p.consumes)
    return document(
        [
            {"Sid": "MskConnect", "Effect": "Allow", "Action": "kafka-cluster:Connect", "Resource": cluster_arn},
            {
                "Sid": "MskDescribeConsumedTopics",
                "Effect": "Allow",
                "Action": "kafka-cluster:DescribeTopic",
                "Resource": [kafka_arn(cluster_arn, "topic", t, cluster_name=cluster_name) for t in topics],
            },
            {
                "Sid": "MskDescribeWorkerGroups",
                "Effect": "Allow",
                "Action": "kafka-cluster:DescribeGroup",
                "Resource": [kafka_arn(cluster_arn, "group", g, cluster_name=cluster_name) for g in groups],
            },
        ]
    )
