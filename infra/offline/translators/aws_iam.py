"""IAM roles and their policies, emulated in moto (which checks the policy JSON)."""

from __future__ import annotations

import json

from infra.offline.registry import ACCOUNT_ID, Created, Ctx, translator


def _ensure_aws_managed_policy(arn: str, region: str) -> None:
    """Load one AWS managed policy from moto's bundled copy, on first use.

    moto knows AWS's managed policies but only loads all of them (slowly) when asked to;
    loading the few a stack attaches keeps runs fast and still rejects unknown names.
    """
    if ":iam::aws:policy/" not in arn:
        return
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy, iam_backends

    backend = iam_backends[ACCOUNT_ID]["global"]
    if arn in backend.managed_policies:
        return
    name = arn.rsplit("/", 1)[-1]
    data = json.loads(aws_managed_policies_data).get(name)
    if data is None:
        raise ValueError(f"{arn} is not an AWS managed policy")
    policy = AWSManagedPolicy.from_data(name, ACCOUNT_ID, region, data)
    backend.managed_policies[policy.arn] = policy


def _document(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@translator("aws:iam/role:Role")
def role(ctx: Ctx) -> Created:
    iam = ctx.client("iam")
    name = ctx.physical_name(max_len=64)
    r = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=_document(ctx.inputs["assumeRolePolicy"]),
        Path=ctx.inputs.get("path", "/"),
        Description=ctx.inputs.get("description", ""),
        Tags=ctx.tag_list(),
    )["Role"]
    for arn in ctx.inputs.get("managedPolicyArns") or []:
        _ensure_aws_managed_policy(arn, ctx.region)
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    return Created(name, {"arn": r["Arn"], "name": name, "uniqueId": r["RoleId"]})


@translator("aws:iam/rolePolicy:RolePolicy")
def role_policy(ctx: Ctx) -> Created:
    name = ctx.physical_name(max_len=128)
    ctx.client("iam").put_role_policy(
        RoleName=ctx.inputs["role"], PolicyName=name, PolicyDocument=_document(ctx.inputs["policy"])
    )
    return Created(f"{ctx.inputs['role']}:{name}", {"name": name})


@translator("aws:iam/policy:Policy")
def policy(ctx: Ctx) -> Created:
    name = ctx.physical_name(max_len=128)
    p = ctx.client("iam").create_policy(
        PolicyName=name,
        PolicyDocument=_document(ctx.inputs["policy"]),
        Path=ctx.inputs.get("path", "/"),
        Description=ctx.inputs.get("description", ""),
        Tags=ctx.tag_list(),
    )["Policy"]
    return Created(p["Arn"], {"arn": p["Arn"], "name": name, "policyId": p["PolicyId"]})


@translator("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
def role_policy_attachment(ctx: Ctx) -> Created:
    _ensure_aws_managed_policy(ctx.inputs["policyArn"], ctx.region)
    ctx.client("iam").attach_role_policy(RoleName=ctx.inputs["role"], PolicyArn=ctx.inputs["policyArn"])
    return Created(f"{ctx.inputs['role']}-{ctx.inputs['policyArn'].rsplit('/', 1)[-1]}")


@translator("aws:iam/serviceLinkedRole:ServiceLinkedRole")
def service_linked_role(ctx: Ctx) -> Created:
    """IAM names the role for the service; a second one for the same service fails, as in IAM."""
    iam = ctx.client("iam")
    kwargs = {"AWSServiceName": ctx.inputs["awsServiceName"], "Description": ctx.inputs.get("description", "")}
    if ctx.inputs.get("customSuffix"):
        kwargs["CustomSuffix"] = ctx.inputs["customSuffix"]
    r = iam.create_service_linked_role(**kwargs)["Role"]
    if ctx.tags:
        iam.tag_role(RoleName=r["RoleName"], Tags=ctx.tag_list())
    return Created(r["Arn"], {"arn": r["Arn"], "name": r["RoleName"], "path": r["Path"], "uniqueId": r["RoleId"]})
