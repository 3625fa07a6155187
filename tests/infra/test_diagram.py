"""The architecture diagram is drawn from the prod stack's resource graph and kept current."""

from __future__ import annotations

import re

from infra.diagram import render_dot
from infra.offline.engine import ROOT

DOT = ROOT / "docs" / "architecture.dot"


def edges(source: str) -> set[tuple[str, str]]:
    return set(re.findall(r'^\s*"([^"]+)" -> "([^"]+)"', source, re.MULTILINE))


def test_committed_diagram_source_matches_the_prod_plan(run_of):
    assert DOT.read_text() == render_dot(run_of("prod")), "docs/architecture.dot is stale: run `make docs`"


def test_diagram_follows_the_request_path_from_viewer_to_pods(run_of):
    found = edges(render_dot(run_of("prod")))
    path = [
        ("viewer", "Distribution/edge-cdn"),
        ("Distribution/edge-cdn", "LoadBalancer/edge-alb"),
        ("LoadBalancer/edge-alb", "TargetGroup/edge-api"),
        ("TargetGroup/edge-api", "Service/app-api"),
        ("Service/app-api", "Deployment/app-api"),
    ]
    assert [hop for hop in path if hop not in found] == []


def test_diagram_wires_the_pods_to_every_store_their_config_names(run_of):
    targets = {b for a, b in edges(render_dot(run_of("prod"))) if a == "Deployment/app-api"}
    assert {"Instance/database-primary", "Instance/database-replica-1", "Instance/database-replica-2"} <= targets
    assert {"ReplicationGroup/cache-group", "Cluster/kafka-cluster"} <= targets


def test_diagram_shows_the_relay_publishing_and_each_worker_consuming_its_topic(run_of):
    found = edges(render_dot(run_of("prod")))
    assert {("Deployment/app-relay", f"topic/{t}") for t in ("orders", "payments", "inventory")} <= found
    assert ("topic/orders", "Deployment/app-payment") in found
    assert ("topic/payments", "Deployment/app-inventory") in found
    assert ("topic/inventory", "Deployment/app-fulfillment") in found
