"""The Kubernetes translator validates objects strictly against the cluster's version."""

from __future__ import annotations

from typing import Any

import pytest

from infra.offline.registry import Created, Ctx
from infra.offline.translators.kubernetes import api_version_and_kind, kubernetes_object

CLUSTER = {"version": "1.35"}


def ctx(type_: str, inputs: dict[str, Any], clusters: list[dict[str, Any]] | None = None) -> Ctx:
    found = [CLUSTER] if clusters is None else clusters
    return Ctx(
        type=type_,
        name="test",
        urn=f"urn:pulumi:test::webscale::{type_}::test",
        inputs=inputs,
        region="eu-west-1",
        tags={},
        lookup=lambda t, i: None,
        find=lambda t: found if t == "aws:eks/cluster:Cluster" else [],
    )


def deployment(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "shop"},
        "spec": {
            "replicas": 2.0,  # floats, as the SDK sends numbers
            "selector": {"matchLabels": {"app": "api"}},
            "template": {
                "metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "api", "image": "api:1", "ports": [{"containerPort": 8080.0}]}]},
            },
            **spec,
        },
    }


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("kubernetes:apps/v1:Deployment", ("apps/v1", "Deployment")),
        ("kubernetes:core/v1:Service", ("v1", "Service")),
        ("kubernetes:keda.sh/v1alpha1:ScaledObject", ("keda.sh/v1alpha1", "ScaledObject")),
    ],
)
def test_api_version_and_kind_come_from_the_type_token(token: str, expected: tuple[str, str]):
    assert api_version_and_kind(token) == expected


def test_a_valid_deployment_is_validated_and_recorded():
    created = kubernetes_object(ctx("kubernetes:apps/v1:Deployment", deployment()))
    assert isinstance(created, Created)
    assert created.id == "shop/api"
    assert created.note == "validated against the Kubernetes 1.35.0 schema (strict)"
    assert created.outputs["metadata"]["name"] == "api"


def test_an_unknown_field_fails_naming_the_object_and_the_field():
    with pytest.raises(ValueError) as caught:
        kubernetes_object(ctx("kubernetes:apps/v1:Deployment", deployment(replica=3)))
    message = str(caught.value)
    assert "Deployment shop/api is invalid for Kubernetes 1.35.0" in message
    assert "spec: Additional properties are not allowed ('replica' was unexpected)" in message


def test_a_wrongly_typed_field_fails_naming_its_path():
    with pytest.raises(ValueError, match=r"Deployment shop/api .*: spec\.replicas: 'three' is not of type"):
        kubernetes_object(ctx("kubernetes:apps/v1:Deployment", deployment(replicas="three")))


def test_custom_resources_of_an_unknown_group_are_recorded_as_not_schema_validated():
    pool = {"metadata": {"name": "general"}, "spec": {"template": {}}}
    created = kubernetes_object(ctx("kubernetes:karpenter.sh/v1:NodePool", pool))
    assert created.note == "not schema-validated: no schema for karpenter.sh/v1 NodePool"


def test_helm_releases_are_recorded_unrendered_with_their_values():
    inputs = {"name": "keda", "namespace": "keda", "chart": "keda", "version": "2.18.0", "values": {"a": 1}}
    created = kubernetes_object(ctx("kubernetes:helm.sh/v3:Release", inputs))
    assert (created.id, created.note) == ("keda/keda", "chart not rendered offline")
    assert created.outputs["values"] == {"a": 1}


def test_an_object_without_a_cluster_to_validate_against_fails_clearly():
    with pytest.raises(ValueError, match="no aws:eks/cluster:Cluster was created before it"):
        kubernetes_object(ctx("kubernetes:apps/v1:Deployment", deployment(), clusters=[]))


def test_an_unnamed_object_fails():
    unnamed = deployment()
    unnamed["metadata"] = {"namespace": "shop"}
    with pytest.raises(ValueError, match=r"has no metadata\.name"):
        kubernetes_object(ctx("kubernetes:apps/v1:Deployment", unnamed))
