"""A Deployment that needs a database login, Kafka topics and a Secret, and Jobs that create them.

``offline:mistake``: ``login``, ``topics`` or ``secret`` drops the Deployment's dependency on
what creates that one thing; ``none`` is correct.
"""

import pulumi
import pulumi_kubernetes as k8s

from tests.infra.programs.cluster_kit import after, cluster, pod

mistake = pulumi.Config("offline").get("mistake") or "none"
_, k8s_opts = cluster()


def job(name: str, annotations: dict[str, str], *needs: pulumi.Resource) -> k8s.batch.v1.Job:
    return k8s.batch.v1.Job(
        name,
        metadata={"name": name, "namespace": "shop", "annotations": annotations},
        spec={"template": {"spec": pod("busybox:1.37")}},
        opts=after(k8s_opts, *needs),
    )


login = job("bootstrap-db", {"webscale.io/creates-database-logins": "app"})
topics = job("topics", {"webscale.io/creates-kafka-topics": "orders,orders.dlq"})
secret = k8s.core.v1.Secret(
    "token", metadata={"name": "token", "namespace": "shop"}, string_data={"token": "t"}, opts=k8s_opts
)
config = k8s.core.v1.ConfigMap(
    "config",
    metadata={"name": "config", "namespace": "shop"},
    data={"APP_DB_WRITER_URL": "postgresql+asyncpg://app@db.example:5432/orders"},
    opts=k8s_opts,
)
waits_for = {"login": login, "topics": topics, "secret": secret}
container = {
    "envFrom": [{"configMapRef": {"name": "config"}}],
    "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "token", "key": "token"}}}],
}
k8s.apps.v1.Deployment(
    "worker",
    metadata={"name": "worker", "namespace": "shop", "annotations": {"webscale.io/needs-kafka-topics": "orders"}},
    spec={
        "selector": {"matchLabels": {"app": "worker"}},
        "template": {
            "metadata": {"labels": {"app": "worker"}},
            "spec": {**pod("busybox:1.37", **container), "restartPolicy": "Always"},
        },
    },
    opts=after(k8s_opts, config, *(r for key, r in waits_for.items() if key != mistake)),
)
