"""The offline engine: it runs programs in moto, rejects what moto rejects, says what it faked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from infra.offline import report
from infra.offline.__main__ import main as cli
from infra.offline.engine import load_stack_config, run_stack
from infra.offline.mocks import OfflineError
from infra.offline.model import StackRun

PROGRAMS = Path(__file__).parent / "programs"


def test_ids_and_references_are_motos_own(run_of):
    dev = run_of("dev")
    vpc = dev.one("aws:ec2/vpc:Vpc")
    assert vpc.id.startswith("vpc-") and vpc["defaultSecurityGroupId"].startswith("sg-")
    assert all(s["vpcId"] == vpc.id for s in dev.of_type("aws:ec2/subnet:Subnet"))


def test_a_resource_moto_rejects_fails_the_run_naming_it():
    with pytest.raises(OfflineError) as caught:
        run_stack("dev", program=PROGRAMS / "subnet_outside_vpc.py")
    message = str(caught.value)
    assert "aws:ec2/subnet:Subnet 'stray' was rejected" in message
    assert "InvalidSubnet.Range" in message


def test_a_type_without_translator_is_labelled_synthesized():
    run = run_stack("dev", program=PROGRAMS / "untranslated_type.py")
    queue = run.one("aws:sqs/queue:Queue")
    assert queue.emulation == "synthesized" and queue.note == "no translator written for this type"
    assert "Not emulated (moto lacks the API):" in report.render(run)
    assert "aws:sqs:Queue  jobs: no translator written for this type" in report.render(run)


def test_a_resource_on_the_default_provider_is_rejected():
    with pytest.raises(OfflineError, match="uses the default aws provider"):
        run_stack("dev", program=PROGRAMS / "default_provider.py")


def test_every_type_in_every_stack_is_emulated_or_declared_with_a_reason(each_stack: StackRun):
    undeclared = {r.type for r in each_stack.resources if r.note == "no translator written for this type"}
    assert not undeclared, f"types with no translator and no stated reason: {sorted(undeclared)}"


def test_secret_outputs_never_reach_reports():
    run = run_stack("dev", program=PROGRAMS / "secret_output.py")
    assert run.outputs["token"] == "s3cr3t-value-for-tests"  # tests may see it ...
    rendered = report.render(run) + json.dumps(report.plan(run, {}))
    assert "s3cr3t-value-for-tests" not in rendered  # ... reports may not
    assert '"[secret]"' in rendered and '"plain"' in rendered


def test_secrets_with_pattern_characters_are_masked_literally():
    secrets = {"p4ss+w.rd(1)", "other*secret"}
    masked = report.scrub(
        {"a": ["x-p4ss+w.rd(1)-y", "p4sssw-rd(1)"], "b": "other*secret", "c": "otherrsecret"}, secrets
    )
    assert masked == {"a": ["[secret]", "p4sssw-rd(1)"], "b": "[secret]", "c": "otherrsecret"}


def test_plan_json_has_the_shape_of_pulumi_preview_json(run_of, tmp_path: Path):
    run = run_of("dev")
    written = report.write(run, load_stack_config("dev"), tmp_path)
    plan = json.loads((written / "plan.json").read_text())
    assert plan["changeSummary"] == {"create": len(run.resources)}
    assert len(plan["steps"]) == len(run.resources)
    for step in plan["steps"]:
        assert step["op"] == "create" and step["urn"] == step["newState"]["urn"]
        assert {"type", "inputs", "outputs", "custom"} <= step["newState"].keys()
    subnet = next(s for s in plan["steps"] if s["newState"]["type"] == "aws:ec2/subnet:Subnet")
    assert subnet["newState"]["inputs"]["cidrBlock"]  # camelCase inputs, as the program passed them
    assert subnet["newState"]["parent"].endswith("aws:ec2/vpc:Vpc::network")
    stack = next(s for s in plan["steps"] if s["newState"]["type"] == "pulumi:pulumi:Stack")
    assert stack["newState"]["outputs"]["vpcId"].startswith("vpc-")


def test_report_shows_the_tree_counts_outputs_and_emulation(run_of):
    text = report.render(run_of("prod"))
    assert report.BANNER in text
    assert "webscale:index:Network" in text and "├─ aws:ec2:Subnet" in text
    assert "   3  aws:ec2/natGateway:NatGateway" in text
    assert 'vpcId: "vpc-' in text
    assert "emulated in moto" in text and "synthesized" in text


def bad_stack(stacks: Path, name: str = "bad") -> Path:
    """A stacks folder holding dev's configuration under ``name``, with azCount out of range."""
    stacks.mkdir(exist_ok=True)
    config = {**load_stack_config("dev"), "webscale:network": {"azCount": 9}}
    (stacks / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))
    return stacks


def test_cli_exits_non_zero_and_names_the_key_on_bad_config(capsys, tmp_path):
    stacks = bad_stack(tmp_path / "stacks")
    assert cli(["up", "--stack", "bad", "--stacks-dir", str(stacks), "--out", str(tmp_path / "out")]) == 1
    assert "webscale:network.azCount = 9" in capsys.readouterr().err
    assert not (tmp_path / "out" / "bad").exists()


def test_cli_lists_the_stacks_when_the_stack_does_not_exist(capsys, tmp_path):
    assert cli(["up", "--stack", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no stack named 'nope'" in err and "(stacks: dev, prod, staging)" in err


def test_cli_prints_the_plan_on_stdout_and_progress_on_stderr(capsys, tmp_path):
    assert cli(["up", "--stack", "dev", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr()
    assert "Offline plan for stack webscale/dev" in printed.out
    assert "network (webscale:index:Network)" in printed.err
    assert not re.search(r"^offline: ", printed.out, re.M), "progress lines belong on stderr"
    assert (tmp_path / "dev" / "plan.json").is_file() and (tmp_path / "dev" / "plan.html").is_file()


def test_progress_has_one_line_per_component_in_creation_order():
    lines: list[str] = []
    run_stack("dev", program=PROGRAMS / "two_components.py", progress=lines.append)
    assert len(lines) == 2, lines
    assert "first (test:index:Box)" in lines[0] and "second (test:index:Box)" in lines[1]


def test_iam_policy_documents_render_like_the_provider():
    run = run_stack("dev", program=PROGRAMS / "policy_document.py")
    assert json.loads(run.outputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/x"},
                "Condition": {"StringEquals": {"x:sub": "system:serviceaccount:a:b"}},
            }
        ],
    }


def test_an_object_is_uploaded_into_a_bucket_whose_policy_denies_plain_http():
    """moto ignores policy conditions, so a TLS-only deny would refuse the upload S3 accepts."""
    run = run_stack("dev", program=PROGRAMS / "object_under_tls_only_policy.py")
    page = run.one("aws:s3/bucketObjectv2:BucketObjectv2")
    assert (page["contentType"], page["cacheControl"]) == ("text/html; charset=utf-8", "public, max-age=60")
