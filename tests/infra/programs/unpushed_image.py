"""A repository and a Job that pulls from it, in one run: nothing was pushed, so nothing can start.

``offline:mistake``: ``unpushed`` (the deliberate mistake) or ``none`` (the Job pulls a public image).
"""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from tests.infra.programs.cluster_kit import cluster, pod

mistake = pulumi.Config("offline").get("mistake") or "none"
aws_opts, k8s_opts = cluster()
repo = aws.ecr.Repository("images", name="shop", opts=aws_opts)
image = repo.repository_url.apply(lambda url: f"{url}:1.0.0") if mistake == "unpushed" else "busybox:1.37"
k8s.batch.v1.Job(
    "migrate",
    metadata={"name": "migrate", "namespace": "shop"},
    spec={"template": {"spec": pod(image)}},
    opts=k8s_opts,
)
