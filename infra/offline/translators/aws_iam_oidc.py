"""IAM OpenID Connect providers (IRSA's trust anchor), emulated in moto."""

from __future__ import annotations

from infra.offline.registry import Created, Ctx, translator


@translator("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def open_id_connect_provider(ctx: Ctx) -> Created:
    p = ctx.client("iam").create_open_id_connect_provider(
        Url=ctx.inputs["url"],
        ClientIDList=ctx.inputs.get("clientIdLists") or [],
        # AWS verifies EKS's issuer against its own trusted CAs; an empty list is valid.
        ThumbprintList=ctx.inputs.get("thumbprintLists") or [],
        Tags=ctx.tag_list(),
    )
    arn = p["OpenIDConnectProviderArn"]
    return Created(arn, {"arn": arn})
