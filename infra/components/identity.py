"""The Identity component: a Cognito user pool and the web app's client, for end-user sign-in.

The API verifies the pool's access tokens itself (app/api/auth.py); this component makes the
pool, the client whose tokens the API accepts, and the hosted sign-in domain, and hands the
issuer and client id to the app's configuration.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator

from infra.args import ConfigModel
from infra.naming import stack_name

Mfa = Literal["OFF", "OPTIONAL", "ON"]
ThreatProtection = Literal["AUDIT", "ENFORCED"]
_PATH = re.compile(r"^/[A-Za-z0-9/_-]*$")


class IdentityArgs(ConfigModel):
    """``<project>:identity`` in the stack configuration."""

    mfa: Mfa = "ON"
    """Multi-factor sign-in (TOTP apps): ``ON`` (default: every user enrols), ``OPTIONAL`` (users
    may enrol; dev, so test users need no authenticator) or ``OFF``."""
    threat_protection: ThreatProtection = "ENFORCED"
    """Cognito threat protection (formerly advanced security): ``ENFORCED`` (default: risky
    sign-ins are challenged or blocked, compromised passwords refused; FSBP Cognito.1) or
    ``AUDIT`` (only logged). Either needs the Plus feature plan, which the pool then uses."""
    deletion_protection: bool = True
    """Refuse to delete the pool (its users cannot be recovered). Default on; dev turns it off."""
    password_min_length: int = Field(default=12, ge=8, le=99)
    """Minimum password length. Default 12: length is what resists guessing (NIST SP 800-63B)."""
    temporary_password_days: int = Field(default=3, ge=1, le=7)
    """Days an administrator-issued temporary password stays valid. Default 3 (FSBP: at most 7)."""
    password_history: int = Field(default=5, ge=0, le=24)
    """Earlier passwords a user may not reuse. Default 5."""
    access_token_minutes: int = Field(default=60, ge=5, le=1440)
    """Access (and id) token lifetime. Default 60: a stolen token is useful for an hour at most,
    and the API checks tokens itself, so a shorter one costs only refreshes."""
    refresh_token_days: int = Field(default=30, ge=1, le=3650)
    """Refresh token lifetime: how long a user stays signed in. Default 30 days."""
    refresh_token_rotation: bool = True
    """A new refresh token on every refresh, the old one invalidated (after a short grace), so a
    leaked refresh token dies at its owner's next refresh. Default on."""
    callback_path: str = "/auth/callback"
    """Path on the site's domain the hosted sign-in redirects back to with the code. Default ``/auth/callback``."""
    logout_path: str = "/"
    """Path on the site's domain the hosted sign-out returns to. Default ``/``."""

    @field_validator("callback_path", "logout_path")
    @classmethod
    def _path(cls, path: str) -> str:
        if not _PATH.match(path):
            raise ValueError("must be a path starting with / (letters, digits, / _ -)")
        return path


def feature_plan(args: IdentityArgs) -> str:
    """Threat protection (``user_pool_add_ons``) is a Plus feature; every mode we allow uses it."""
    return "PLUS"


def password_policy(args: IdentityArgs) -> Any:
    return {
        "minimum_length": args.password_min_length,
        # FSBP Cognito.3 asks for every character class as well as the length.
        "require_lowercase": True,
        "require_uppercase": True,
        "require_numbers": True,
        "require_symbols": True,
        "temporary_password_validity_days": args.temporary_password_days,
        "password_history_size": args.password_history,
    }


def redirect_urls(site_url: str, args: IdentityArgs) -> tuple[list[str], list[str]]:
    """Callback and logout URLs on the site's own (CloudFront) domain, HTTPS only."""
    if not site_url.startswith("https://"):
        raise ValueError(f"the site URL must be https, got {site_url!r}")
    base = site_url.rstrip("/")
    return [f"{base}{args.callback_path}"], [f"{base}{args.logout_path}"]


def issuer_url(region: str, pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


class Identity(pulumi.ComponentResource):
    """Cognito user pool, the web app client (authorization code + PKCE, no secret) and a
    hosted sign-in domain."""

    user_pool_id: pulumi.Output[str]
    user_pool_arn: pulumi.Output[str]
    issuer: pulumi.Output[str]
    """The ``iss`` of the pool's tokens; its JWKS is at ``<issuer>/.well-known/jwks.json``."""
    client_id: pulumi.Output[str]
    """The app client whose access tokens the API accepts (their ``client_id`` claim)."""
    hosted_ui_domain: pulumi.Output[str]
    """``<prefix>.auth.<region>.amazoncognito.com``: the hosted sign-in and OAuth endpoints."""

    def __init__(
        self,
        name: str,
        args: IdentityArgs,
        *,
        site_url: pulumi.Input[str],
        region: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``site_url``: the site's https URL (the CloudFront domain); sign-in returns there."""
        super().__init__("webscale:index:Identity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        add_ons: Any = {"advanced_security_mode": args.threat_protection}
        totp: Any = {"enabled": args.mfa != "OFF"}
        # Only a verified channel recovers an account: never an SMS to a number an attacker
        # may have swapped.
        recovery: Any = {"recovery_mechanisms": [{"name": "verified_email", "priority": 1}]}
        sign_up: Any = {"allow_admin_create_user_only": False}
        pool = aws.cognito.UserPool(
            f"{name}-users",
            name=stack_name("users"),
            user_pool_tier=feature_plan(args),
            user_pool_add_ons=add_ons,
            mfa_configuration=args.mfa,
            software_token_mfa_configuration=totp,
            password_policy=password_policy(args),
            deletion_protection="ACTIVE" if args.deletion_protection else "INACTIVE",
            username_attributes=["email"],
            auto_verified_attributes=["email"],
            account_recovery_setting=recovery,
            admin_create_user_config=sign_up,
            tags={"Name": stack_name("users")},
            opts=child,
        )
        urls = pulumi.Output.from_input(site_url).apply(lambda url: redirect_urls(url, args))
        rotation: Any = (
            {"feature": "ENABLED", "retry_grace_period_seconds": 10} if args.refresh_token_rotation else None
        )
        client = aws.cognito.UserPoolClient(
            f"{name}-web",
            name=stack_name("web"),
            user_pool_id=pool.id,
            # A browser app cannot keep a secret: authorization code with PKCE instead.
            generate_secret=False,
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_flows=["code"],
            allowed_oauth_scopes=["openid", "email", "profile"],
            supported_identity_providers=["COGNITO"],
            callback_urls=urls.apply(lambda u: u[0]),
            logout_urls=urls.apply(lambda u: u[1]),
            explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            access_token_validity=args.access_token_minutes,
            id_token_validity=args.access_token_minutes,
            refresh_token_validity=args.refresh_token_days,
            token_validity_units={"access_token": "minutes", "id_token": "minutes", "refresh_token": "days"},
            auth_session_validity=3,
            refresh_token_rotation=rotation,
            opts=pulumi.ResourceOptions(parent=pool),
        )
        domain = aws.cognito.UserPoolDomain(
            f"{name}-domain",
            domain=stack_name("signin"),
            user_pool_id=pool.id,
            managed_login_version=2,
            opts=pulumi.ResourceOptions(parent=pool),
        )

        self.user_pool_id = pool.id
        self.user_pool_arn = pool.arn
        self.issuer = pool.id.apply(lambda pool_id: issuer_url(region, pool_id))
        self.client_id = client.id
        self.hosted_ui_domain = domain.domain.apply(lambda d: f"{d}.auth.{region}.amazoncognito.com")
        self.register_outputs(
            {
                "user_pool_id": self.user_pool_id,
                "user_pool_arn": self.user_pool_arn,
                "issuer": self.issuer,
                "client_id": self.client_id,
                "hosted_ui_domain": self.hosted_ui_domain,
            }
        )
