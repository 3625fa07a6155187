"""The relay's and workers' KEDA objects: one TriggerAuthentication, one ScaledObject each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components.app import workloads
from infra.components.app.args import AppArgs
from infra.components.app.processes import DEPLOYMENTS

KAFKA_AUTH = "msk-iam"
"""The KEDA TriggerAuthentication: the operator's own IRSA role (podIdentity provider aws)."""


def keda_scalers(
    name: str,
    args: AppArgs,
    *,
    keda_release: pulumi.Resource,
    bootstrap_servers: pulumi.Input[str],
    region: str,
    meta: Callable[[str, str], Any],
    after: Callable[[Sequence[pulumi.Resource]], pulumi.ResourceOptions],
) -> None:
    """KEDA's CRDs and webhook come with its release: every object here waits for it."""
    auth = k8s.apiextensions.CustomResource(
        f"{name}-{KAFKA_AUTH}",
        api_version="keda.sh/v1alpha1",
        kind="TriggerAuthentication",
        metadata=meta(KAFKA_AUTH, args.release),
        spec={"podIdentity": {"provider": "aws"}},
        opts=after([keda_release]),
    )
    for process in DEPLOYMENTS:
        if process.kind == "api":
            continue  # the HPA scales the API; one autoscaler per workload
        if process.kind == "worker":
            worker = args.workers.by_name()[process.name]
            triggers = workloads.worker_triggers(
                process, worker, bootstrap_servers=bootstrap_servers, region=region, auth=KAFKA_AUTH
            )
            scaling: Any = worker
        else:  # the relay consumes no topic: CPU tracks its publishing work
            scaling = args.relay
            triggers = [workloads.cpu_trigger(args.relay.target_cpu_utilization)]
        k8s.apiextensions.CustomResource(
            f"{name}-{process.name}-scaler",
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=meta(process.name, args.release),
            spec=workloads.scaled_object_spec(process.name, scaling, triggers),
            opts=after([keda_release, auth]),
        )
