"""Pure builders of the namespace's NetworkPolicies: deny everything, then allow by need.

Enforcement needs the VPC CNI's network policy agent (``enableNetworkPolicy: "true"`` in
the vpc-cni add-on's configuration); without it these objects are accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from infra.components.app.processes import API_PORT, Process
from infra.components.app.workloads import selector

POSTGRES_PORT = 5432
REDIS_PORT = 6379
KAFKA_IAM_PORT = 9098
HTTPS_PORT = 443
ANYWHERE = "0.0.0.0/0"


def _blocks(cidrs: Sequence[str]) -> list[dict[str, Any]]:
    return [{"ipBlock": {"cidr": c}} for c in cidrs]


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def default_deny() -> dict[str, Any]:
    """Every pod of the namespace: no ingress, no egress, unless a policy below allows it."""
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def allow_dns() -> dict[str, Any]:
    """Every pod may ask CoreDNS (kube-system, label k8s-app=kube-dns) on 53, UDP and TCP."""
    return {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }
                ],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }
        ],
    }


def allow_api_ingress(vpc_cidr: str) -> dict[str, Any]:
    """The ALB's nodes (in the VPC's public subnets) reach the API pods on 8000, nothing else does."""
    return {
        "podSelector": {"matchLabels": selector("api")},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": _blocks([vpc_cidr]), "ports": _tcp(API_PORT)}],
    }


def process_egress(process: Process, *, data_cidrs: Sequence[str], aws_api_cidrs: Sequence[str]) -> dict[str, Any]:
    """Egress of one process: its data stores' ports in the isolated subnets, and HTTPS to AWS APIs.

    HTTPS is for STS (IRSA's AssumeRoleWithWebIdentity); RDS, ElastiCache and MSK IAM
    tokens are signed locally and need no call. ``aws_api_cidrs`` is the VPC when the VPC has
    interface endpoints, else ``0.0.0.0/0`` (the public STS endpoint through NAT).
    """
    ports = [
        *([POSTGRES_PORT] if process.uses_database else []),
        *([REDIS_PORT] if process.uses_cache else []),
        *([KAFKA_IAM_PORT] if process.uses_kafka else []),
    ]
    egress = [{"to": _blocks(data_cidrs), "ports": _tcp(*ports)}] if ports else []
    egress.append({"to": _blocks(aws_api_cidrs), "ports": _tcp(HTTPS_PORT)})
    return {"podSelector": {"matchLabels": selector(process.name)}, "policyTypes": ["Egress"], "egress": egress}


def policies(
    processes: Sequence[Process], *, vpc_cidr: str, data_cidrs: Sequence[str], aws_api_cidrs: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Every NetworkPolicy of the namespace, by name."""
    out = {"default-deny": default_deny(), "allow-dns": allow_dns(), "api-ingress": allow_api_ingress(vpc_cidr)}
    for p in processes:
        out[f"{p.name}-egress"] = process_egress(p, data_cidrs=data_cidrs, aws_api_cidrs=aws_api_cidrs)
    return out
