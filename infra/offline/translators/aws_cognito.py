"""Cognito user pools, app clients and hosted-UI domains, emulated in moto (cognito-idp).

moto validates the request shapes against the service model and issues real signed tokens for
its pools; the feature plan and threat protection are passed through and read back.
"""

from __future__ import annotations

from typing import Any

from infra.offline.registry import Created, Ctx, translator

_PASSWORD = {
    "minimumLength": "MinimumLength",
    "requireLowercase": "RequireLowercase",
    "requireUppercase": "RequireUppercase",
    "requireNumbers": "RequireNumbers",
    "requireSymbols": "RequireSymbols",
    "temporaryPasswordValidityDays": "TemporaryPasswordValidityDays",
    "passwordHistorySize": "PasswordHistorySize",
}
_UNITS = {"accessToken": "AccessToken", "idToken": "IdToken", "refreshToken": "RefreshToken"}


@translator("aws:cognito/userPool:UserPool")
def user_pool(ctx: Ctx) -> Created:
    i = ctx.inputs
    kwargs: dict[str, Any] = {
        "PoolName": ctx.physical_name(),
        "MfaConfiguration": i.get("mfaConfiguration", "OFF"),
        "DeletionProtection": i.get("deletionProtection", "INACTIVE"),
        "UserPoolTags": ctx.tags,
    }
    if policy := i.get("passwordPolicy"):
        kwargs["Policies"] = {"PasswordPolicy": {_PASSWORD[k]: v for k, v in policy.items() if k in _PASSWORD}}
        for key in ("MinimumLength", "TemporaryPasswordValidityDays", "PasswordHistorySize"):
            if key in kwargs["Policies"]["PasswordPolicy"]:
                kwargs["Policies"]["PasswordPolicy"][key] = int(kwargs["Policies"]["PasswordPolicy"][key])
    if add_ons := i.get("userPoolAddOns"):
        kwargs["UserPoolAddOns"] = {"AdvancedSecurityMode": add_ons["advancedSecurityMode"]}
    if tier := i.get("userPoolTier"):
        kwargs["UserPoolTier"] = tier
    for key, api in (
        ("usernameAttributes", "UsernameAttributes"),
        ("autoVerifiedAttributes", "AutoVerifiedAttributes"),
    ):
        if i.get(key):
            kwargs[api] = i[key]
    if recovery := i.get("accountRecoverySetting"):
        kwargs["AccountRecoverySetting"] = {
            "RecoveryMechanisms": [
                {"Name": m["name"], "Priority": int(m["priority"])} for m in recovery["recoveryMechanisms"]
            ]
        }
    if i.get("mfaConfiguration", "OFF") != "OFF" and not (i.get("softwareTokenMfaConfiguration") or {}).get("enabled"):
        raise ValueError("MFA is ON/OPTIONAL but no MFA factor (software token) is enabled")
    pool = ctx.client("cognito-idp").create_user_pool(**kwargs)["UserPool"]
    arn = pool["Arn"]
    return Created(
        pool["Id"],
        {"arn": arn, "endpoint": f"cognito-idp.{ctx.region}.amazonaws.com/{pool['Id']}", "name": pool["Name"]},
    )


@translator("aws:cognito/userPoolClient:UserPoolClient")
def user_pool_client(ctx: Ctx) -> Created:
    i = ctx.inputs
    kwargs: dict[str, Any] = {
        "UserPoolId": i["userPoolId"],
        "ClientName": i["name"],
        "GenerateSecret": bool(i.get("generateSecret", False)),
        "AllowedOAuthFlowsUserPoolClient": bool(i.get("allowedOauthFlowsUserPoolClient", False)),
        "EnableTokenRevocation": bool(i.get("enableTokenRevocation", True)),
    }
    for key, api in (
        ("allowedOauthFlows", "AllowedOAuthFlows"),
        ("allowedOauthScopes", "AllowedOAuthScopes"),
        ("supportedIdentityProviders", "SupportedIdentityProviders"),
        ("callbackUrls", "CallbackURLs"),
        ("logoutUrls", "LogoutURLs"),
        ("explicitAuthFlows", "ExplicitAuthFlows"),
        ("preventUserExistenceErrors", "PreventUserExistenceErrors"),
    ):
        if i.get(key):
            kwargs[api] = i[key]
    for key, api in (
        ("accessTokenValidity", "AccessTokenValidity"),
        ("idTokenValidity", "IdTokenValidity"),
        ("refreshTokenValidity", "RefreshTokenValidity"),
        ("authSessionValidity", "AuthSessionValidity"),
    ):
        if i.get(key) is not None:
            kwargs[api] = int(i[key])
    if units := i.get("tokenValidityUnits"):
        kwargs["TokenValidityUnits"] = {_UNITS[k]: v for k, v in units.items() if k in _UNITS}
    if rotation := i.get("refreshTokenRotation"):
        kwargs["RefreshTokenRotation"] = {
            "Feature": rotation["feature"],
            "RetryGracePeriodSeconds": int(rotation.get("retryGracePeriodSeconds", 0)),
        }
    for url in kwargs.get("CallbackURLs", []) + kwargs.get("LogoutURLs", []):
        if not url.startswith("https://"):
            raise ValueError(f"Cognito accepts only https callback/logout URLs (besides localhost), got {url!r}")
    client = ctx.client("cognito-idp").create_user_pool_client(**kwargs)["UserPoolClient"]
    return Created(client["ClientId"], {"clientSecret": client.get("ClientSecret", "")})


@translator("aws:cognito/userPoolDomain:UserPoolDomain")
def user_pool_domain(ctx: Ctx) -> Created:
    domain = ctx.inputs["domain"]
    for word in ("aws", "amazon", "cognito"):
        if word in domain:
            raise ValueError(f"a Cognito domain prefix may not contain {word!r}: {domain!r}")
    ctx.client("cognito-idp").create_user_pool_domain(Domain=domain, UserPoolId=ctx.inputs["userPoolId"])
    return Created(domain, {"cloudfrontDistribution": f"{domain}.cloudfront.net"})
