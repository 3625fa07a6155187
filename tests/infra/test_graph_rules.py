"""The engine's graph rules: what a real deploy would order or ignore differently than moto."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.offline.engine import run_stack
from infra.offline.graph_rules import _read_only_as_origin, _resolves
from infra.offline.mocks import OfflineError
from infra.offline.model import Resource, StackRun

PROGRAMS = Path(__file__).parent / "programs"


def test_a_writer_that_waits_for_its_bucket_but_not_the_policy_fails_the_run():
    with pytest.raises(OfflineError) as caught:
        run_stack("dev", program=PROGRAMS / "bucket_writer_before_policy.py")
    message = str(caught.value)
    assert "aws:sns/topic:Topic 'writer' depends on bucket 'logs' but not on its policy 'logs'" in message
    assert "'patient-writer'" not in message


def test_an_ignore_changes_path_that_names_no_input_fails_the_run():
    with pytest.raises(OfflineError) as caught:
        run_stack("dev", program=PROGRAMS / "ignore_changes_typo.py")
    message = str(caught.value)
    assert "ignoreChanges path 'metadataOptions.http_tokens' names no input" in message
    assert "'metadataOptions.httpTokens'" not in message


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("a.b", True),
        ("a.c", False),
        ("list[1].x", True),
        ("list[2].x", False),
        ("list[*].x", True),
        ('m["k.1"]', True),
        ('m["k.2"]', False),
    ],
)
def test_property_paths_resolve_like_pulumis(path: str, found: bool):
    inputs = {"a": {"b": 1}, "list": [{"x": 1}, {"x": 2}], "m": {"k.1": 0}}
    assert _resolves(inputs, path) is found


def test_log_writers_wait_for_their_buckets_grants(each_stack: StackRun):
    alb = each_stack.one("aws:lb/loadBalancer:LoadBalancer")
    cdn = each_stack.one("aws:cloudfront/distribution:Distribution")
    for writer, bucket in ((alb, "edge-alb-logs"), (cdn, "edge-cdn-logs")):
        policy = each_stack.one("aws:s3/bucketPolicy:BucketPolicy", bucket)
        controls = each_stack.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucket)
        assert each_stack.depends_on(writer, policy), f"{writer.name} starts before {bucket}'s policy"
        assert each_stack.depends_on(writer, controls), f"{writer.name} starts before {bucket}'s ownership controls"
    acl = each_stack.one("aws:s3/bucketAcl:BucketAcl", "edge-cdn-logs")
    assert each_stack.depends_on(cdn, acl), "CloudFront logs are written through the ACL, which must exist first"


def test_a_top_level_property_the_program_leaves_unset_may_be_ignored():
    # Ignoring drift someone else causes (tags set by another tool) is legitimate.
    run = run_stack("dev", program=PROGRAMS / "ignore_unset_tags.py")
    assert run.one("aws:ec2/vpc:Vpc").ignore_changes == ["tags"]


def _resource(type_: str, name: str, inputs: dict[str, object], outputs: dict[str, object]) -> Resource:
    return Resource(
        urn=f"urn:{name}", type=type_, name=name, custom=True, parent=None, provider=None, id=name,
        inputs=inputs, outputs=outputs, emulation="moto",
    )  # fmt: skip


SITE = _resource("aws:s3/bucket:Bucket", "site", {}, {"bucket": "site-123", "arn": "arn:aws:s3:::site-123"})


@pytest.mark.parametrize(
    ("inputs", "read_only"),
    [
        ({"origins": [{"domainName": "site-123.s3.eu-west-1.amazonaws.com"}]}, True),
        (
            {
                "origins": [{"domainName": "site-123.s3.eu-west-1.amazonaws.com"}],
                "loggingConfig": {"bucket": "site-123.s3.amazonaws.com"},
            },
            False,
        ),
        ({"loggingConfig": {"bucket": "site-123.s3.amazonaws.com"}}, False),
    ],
)
def test_a_distribution_that_only_reads_a_bucket_origin_is_no_writer(inputs: dict[str, object], read_only: bool):
    cdn = _resource("aws:cloudfront/distribution:Distribution", "cdn", inputs, {})
    assert _read_only_as_origin(cdn, SITE) is read_only
