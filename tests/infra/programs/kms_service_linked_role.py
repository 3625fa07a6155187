"""A key for EBS volumes that Auto Scaling creates, its policy written three ways.

``offline:mistake``: ``condition`` names the service-linked role through aws:PrincipalArn on the
account root (the service is denied at run time); ``unordered`` names the role as principal
but the key does not wait for the role, which this new account lacks; ``none`` is correct:
the role is created and the key waits for it.
"""

import json

import pulumi
import pulumi_aws as aws

from infra.components.eks.autoscaling_role import role_arn
from infra.components.kms import key_policy

mistake = pulumi.Config("offline").get("mistake") or "none"
provider = aws.Provider("aws", region="eu-west-1", default_tags={"tags": {"project": "webscale"}})
opts = pulumi.ResourceOptions(provider=provider)
account = "123456789012"
slr = role_arn("aws", account)
policy = key_policy(account, "aws", service_linked_role_arns=(slr,))
if mistake == "condition":
    for statement in policy["Statement"][1:]:
        statement["Principal"] = {"AWS": f"arn:aws:iam::{account}:root"}
        statement.setdefault("Condition", {})["ArnEquals"] = {"aws:PrincipalArn": [slr]}
after = []
if mistake != "unordered":
    after = [aws.iam.ServiceLinkedRole("autoscaling", aws_service_name="autoscaling.amazonaws.com", opts=opts)]
aws.kms.Key(
    "node-disks",
    policy=json.dumps(policy),
    enable_key_rotation=True,
    opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=after)),
)
