"""The engine holds custom resources to their CRD: ordered after its release, valid against its
schema, and (for KEDA) triggers KEDA can read. Each mistake is a deliberately broken program."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.offline.engine import run_stack
from infra.offline.mocks import OfflineError
from infra.offline.scalers import trigger_problems

PROGRAM = Path(__file__).parent / "programs" / "custom_resources.py"


def run(mistake: str):
    return run_stack("dev", {"offline:mistake": mistake}, program=PROGRAM)


def failure(mistake: str) -> str:
    with pytest.raises(OfflineError) as caught:
        run(mistake)
    return str(caught.value)


def test_custom_resources_that_wait_for_their_release_are_schema_validated():
    notes = {r.name: r.note for r in run("none").resources if r.type.startswith("kubernetes:") and r.custom}
    assert notes["payment"] == "validated against the keda 2.18.0 CRD schema (strict)"
    assert notes["auth"] == "validated against the keda 2.18.0 CRD schema (strict)"
    assert notes["api"] == "validated against the aws-load-balancer-controller 1.14.0 CRD schema (strict)"


def test_waiting_for_the_release_through_another_resource_is_enough():
    assert run("transitive").one("kubernetes:keda.sh/v1alpha1:ScaledObject").note.startswith("validated")


def test_a_custom_resource_that_does_not_wait_for_its_crd_release_fails_naming_it():
    message = failure("no-wait")
    assert "ScaledObject app/payment needs the CRD that the 'keda' chart installs" in message
    assert "does not wait for it" in message and "depends_on the keda release" in message


def test_an_unknown_field_fails_against_the_crd_schema():
    message = failure("unknown-field")
    assert "ScaledObject app/payment is invalid for the keda 2.18.0 CRD" in message
    assert "spec: Additional properties are not allowed ('maxReplicas' was unexpected)" in message


def test_a_value_outside_the_crd_enum_fails():
    assert "spec.podIdentity.provider: 'aws-kiam' is not one of" in failure("bad-enum")


def test_the_kafka_scaler_rejects_sasl_aws_msk_iam():
    message = failure("msk-sasl")
    assert "spec.triggers[0] (kafka): metadata.sasl = 'aws_msk_iam': must be one of" in message


def test_a_kafka_parameter_keda_does_not_read_fails():
    assert "metadata.lagThreshhold: not a parameter of the kafka scaler" in failure("unknown-parameter")


def test_a_cpu_trigger_needs_its_metric_type():
    assert "spec.triggers[1] (cpu): metricType: the cpu scaler needs Utilization or AverageValue" in failure(
        "cpu-metric"
    )


MSK = {
    "bootstrapServers": "b:9098",
    "consumerGroup": "g",
    "sasl": "oauthbearer",
    "saslTokenProvider": "aws_msk_iam",
    "tls": "enable",
    "awsRegion": "eu-west-1",
}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"sasl": "plaintext"}, "saslTokenProvider applies only with sasl: oauthbearer"),
        ({"tls": "disable"}, "saslTokenProvider aws_msk_iam needs tls: enable"),
        ({"awsRegion": None}, "saslTokenProvider aws_msk_iam needs awsRegion"),
        ({"lagThreshold": "ten"}, "metadata.lagThreshold = 'ten': must be an integer >= 1"),
        ({"consumerGroup": None}, "metadata.consumerGroup: required by the kafka scaler"),
    ],
)
def test_kafka_trigger_table(change: dict, problem: str):
    meta = {k: v for k, v in {**MSK, **change}.items() if v is not None}
    problems = trigger_problems({"type": "kafka", "metadata": meta, "authenticationRef": {"name": "a"}})
    assert any(problem in p for p in problems), problems


def test_msk_iam_needs_a_trigger_authentication():
    assert trigger_problems({"type": "kafka", "metadata": MSK}) == [
        "saslTokenProvider aws_msk_iam needs authenticationRef (a TriggerAuthentication with podIdentity provider aws)"
    ]


def test_a_scaler_without_a_table_fails():
    assert trigger_problems({"type": "prometheus", "metadata": {}})[0].startswith("type 'prometheus': the engine")
