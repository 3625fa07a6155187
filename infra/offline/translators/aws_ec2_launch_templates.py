"""EC2 launch templates, emulated in moto (which stores the template data as sent)."""

from __future__ import annotations

from typing import Any

from infra.offline.registry import Created, Ctx, translator


def _bool(value: Any) -> bool:
    return str(value).lower() == "true"  # the provider types EBS flags as strings


def _ebs(ebs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, api in (("volumeSize", "VolumeSize"), ("iops", "Iops"), ("throughput", "Throughput")):
        if ebs.get(key) is not None:
            out[api] = int(ebs[key])
    for key, api in (("volumeType", "VolumeType"), ("kmsKeyId", "KmsKeyId"), ("snapshotId", "SnapshotId")):
        if ebs.get(key):
            out[api] = ebs[key]
    for key, api in (("encrypted", "Encrypted"), ("deleteOnTermination", "DeleteOnTermination")):
        if ebs.get(key) is not None:
            out[api] = _bool(ebs[key])
    return out


def template_data(inputs: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if inputs.get("metadataOptions"):
        m = inputs["metadataOptions"]
        data["MetadataOptions"] = {
            k: (int(m[key]) if key == "httpPutResponseHopLimit" else m[key])
            for key, k in (
                ("httpEndpoint", "HttpEndpoint"),
                ("httpTokens", "HttpTokens"),
                ("httpPutResponseHopLimit", "HttpPutResponseHopLimit"),
            )
            if m.get(key) is not None
        }
    if inputs.get("blockDeviceMappings"):
        data["BlockDeviceMappings"] = [
            {"DeviceName": b["deviceName"], "Ebs": _ebs(b.get("ebs") or {})} for b in inputs["blockDeviceMappings"]
        ]
    if inputs.get("vpcSecurityGroupIds"):
        data["SecurityGroupIds"] = inputs["vpcSecurityGroupIds"]
    if inputs.get("instanceType"):
        data["InstanceType"] = inputs["instanceType"]
    if inputs.get("tagSpecifications"):
        data["TagSpecifications"] = [
            {
                "ResourceType": t["resourceType"],
                "Tags": [{"Key": k, "Value": v} for k, v in (t.get("tags") or {}).items()],
            }
            for t in inputs["tagSpecifications"]
        ]
    return data


@translator("aws:ec2/launchTemplate:LaunchTemplate")
def launch_template(ctx: Ctx) -> Created:
    ec2 = ctx.client("ec2")
    name = ctx.physical_name(max_len=128)
    t = ec2.create_launch_template(
        LaunchTemplateName=name,
        VersionDescription=ctx.inputs.get("description", ""),
        LaunchTemplateData=template_data(ctx.inputs),
        TagSpecifications=ctx.tag_spec("launch-template"),
    )["LaunchTemplate"]
    template_id = t["LaunchTemplateId"]
    return Created(
        template_id,
        {
            "name": name,
            "arn": ctx.arn("ec2", f"launch-template/{template_id}"),
            "latestVersion": t["LatestVersionNumber"],
            "defaultVersion": t["DefaultVersionNumber"],
        },
    )
