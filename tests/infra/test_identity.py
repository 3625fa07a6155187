"""Identity: the Cognito pool and client each stack builds, what the app is told, and what the
edge lets through (the bearer token on /api/* only; metrics and probes nowhere)."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from app.core.settings import Settings
from infra.components.app.config import local_dev_problems
from infra.components.identity import IdentityArgs, redirect_urls
from infra.offline.engine import load_stack_config
from infra.offline.model import StackRun
from infra.settings import SettingsError, load_settings

POOL = "aws:cognito/userPool:UserPool"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
DIST = "aws:cloudfront/distribution:Distribution"
LISTENER = "aws:lb/listener:Listener"
RULE = "aws:lb/listenerRule:ListenerRule"
ACL = "aws:wafv2/webAcl:WebAcl"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def _app_config(run: StackRun) -> dict[str, str]:
    (config,) = [r for r in run.of_type(CONFIG_MAP) if r["metadata"]["name"] == "app-config"]
    data: dict[str, str] = config["data"]
    return data


# -- the pool and its client ------------------------------------------------------------------------


def test_user_pool_enforces_threat_protection_on_the_plus_plan(each_stack: StackRun):
    pool = each_stack.one(POOL)
    assert pool["userPoolTier"] == "PLUS", f"{each_stack.stack}: threat protection needs the Plus plan"
    assert pool["userPoolAddOns"]["advancedSecurityMode"] == "ENFORCED"


def test_mfa_is_optional_in_dev_and_required_in_prod(run_of):
    assert run_of("dev").one(POOL)["mfaConfiguration"] == "OPTIONAL"
    prod = run_of("prod").one(POOL)
    assert prod["mfaConfiguration"] == "ON"
    assert prod["softwareTokenMfaConfiguration"]["enabled"] is True, "MFA ON needs a factor to enrol"


def test_deletion_protection_is_on_in_prod_off_in_dev(run_of):
    assert run_of("prod").one(POOL)["deletionProtection"] == "ACTIVE"
    assert run_of("dev").one(POOL)["deletionProtection"] == "INACTIVE"


def test_password_policy_is_long_and_needs_every_character_class(each_stack: StackRun):
    policy = each_stack.one(POOL)["passwordPolicy"]
    assert policy["minimumLength"] >= 12
    assert all(policy[k] for k in ("requireLowercase", "requireUppercase", "requireNumbers", "requireSymbols"))
    assert policy["temporaryPasswordValidityDays"] <= 7


def test_client_is_a_public_pkce_client_with_rotating_refresh_tokens(each_stack: StackRun):
    client = each_stack.one(CLIENT)
    assert client["generateSecret"] is False and client["allowedOauthFlows"] == ["code"]
    assert client["refreshTokenRotation"]["feature"] == "ENABLED"
    assert client["enableTokenRevocation"] is True
    assert client["accessTokenValidity"] == 60 and client["tokenValidityUnits"]["accessToken"] == "minutes"
    assert client["preventUserExistenceErrors"] == "ENABLED"


def test_sign_in_returns_to_the_cloudfront_domain(each_stack: StackRun):
    client = each_stack.one(CLIENT)
    site = each_stack.outputs["url"]
    assert client["callbackUrls"] == [f"{site}/auth/callback"]
    assert client["logoutUrls"] == [f"{site}/"]


def test_redirect_urls_refuse_a_plain_http_site():
    with pytest.raises(ValueError, match="https"):
        redirect_urls("http://example.com", IdentityArgs())


@pytest.mark.parametrize(
    ("identity", "key"),
    [
        ({"mfa": "SOMETIMES"}, "webscale:identity.mfa"),
        ({"threatProtection": "OFF"}, "webscale:identity.threatProtection"),
        ({"passwordMinLength": 6}, "webscale:identity.passwordMinLength"),
        ({"callbackPath": "auth"}, "webscale:identity.callbackPath"),
        ({"accessTokenMinutes": 2}, "webscale:identity.accessTokenMinutes"),
    ],
)
def test_bad_identity_config_names_the_key(identity: dict[str, Any], key: str):
    config = load_stack_config("dev") | {"webscale:identity": identity}
    with pytest.raises(SettingsError) as err:
        load_settings(config, project="webscale", stack="dev")
    assert any(p.startswith(key) for p in err.value.problems), err.value.problems


# -- what the app is told -----------------------------------------------------------------------------


def test_app_trusts_the_stacks_pool_and_client(run_of):
    run = run_of("dev")
    config = _app_config(run)
    assert config["APP_AUTH_ISSUER"] == run.outputs["authIssuer"]
    assert config["APP_AUTH_CLIENT_ID"] == run.one(CLIENT).id
    # The app's own settings accept it as a Cognito issuer, without the local-development flag.
    settings = Settings(
        db_writer_url="postgresql+asyncpg://x@h/db",
        **{k[4:].lower(): v for k, v in config.items() if k.startswith("APP_AUTH_")},
    )
    assert settings.auth_local_dev is False


def test_local_token_mode_is_refused_in_a_deployment_config():
    assert local_dev_problems({"APP_AUTH_LOCAL_DEV": "true"}), "the local mode must be flagged"
    assert local_dev_problems({"APP_AUTH_LOCAL_DEV": "false"}) == []


# -- the edge: Authorization only on /api/*, metrics and probes nowhere ------------------------------


def _behaviour_for(dist: Any, path: str) -> dict[str, Any]:
    """CloudFront's choice: the first ordered behaviour whose pattern matches, else the default."""
    for behaviour in dist["orderedCacheBehaviors"]:
        if fnmatch.fnmatchcase(path, behaviour["pathPattern"]):
            return dict(behaviour)
    return dict(dist["defaultCacheBehavior"])


def _alb_answer(run: StackRun, path: str) -> str:
    """What the ALB's forwarding listener does with ``path``: its rules by priority, else the default."""
    forwarding = [listener for listener in run.of_type(LISTENER) if listener["defaultActions"][0]["type"] == "forward"]
    assert len(forwarding) == 1
    rules = sorted(
        (r for r in run.of_type(RULE) if r["listenerArn"] == forwarding[0]["arn"]), key=lambda r: r["priority"]
    )
    for rule in rules:
        patterns = [v for c in rule["conditions"] for v in c["pathPattern"]["values"]]
        if any(fnmatch.fnmatchcase(path, p) for p in patterns):
            action = rule["actions"][0]
            return f"{action['type']} {action.get('fixedResponse', {}).get('statusCode', '')}".strip()
    return str(forwarding[0]["defaultActions"][0]["type"])


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/livez", "/readyz"])
def test_metrics_and_probes_are_unreachable_through_the_edge(each_stack: StackRun, path: str):
    dist = each_stack.one(DIST)
    behaviour = _behaviour_for(dist, path)
    alb_origins = {o["originId"] for o in dist["origins"] if "vpcOriginConfig" in o}
    if behaviour["targetOriginId"] in alb_origins:
        assert _alb_answer(each_stack, path) == "fixed-response 404", f"{each_stack.stack}: {path} reaches a pod"


@pytest.mark.parametrize("path", ["/api/orders", "/api/orders/x", "/api/products/SKU-0001"])
def test_api_paths_still_reach_the_pods(each_stack: StackRun, path: str):
    assert _alb_answer(each_stack, path) == "forward"


def test_authorization_is_forwarded_on_api_paths_only(each_stack: StackRun):
    dist = each_stack.one(DIST)
    forwarding = [
        policy
        for policy in each_stack.of_type("aws:cloudfront/cachePolicy:CachePolicy")
        if policy["parametersInCacheKeyAndForwardedToOrigin"]["headersConfig"].get("headerBehavior", "none") != "none"
    ]
    assert len(forwarding) == 1, "exactly one cache policy may forward a header"
    bearer = forwarding[0]
    headers = bearer["parametersInCacheKeyAndForwardedToOrigin"]["headersConfig"]["headers"]["items"]
    assert headers == ["Authorization"]
    assert _behaviour_for(dist, "/api/orders")["cachePolicyId"] == bearer.id
    for path in ("/", "/static/app.js", "/metrics"):
        assert _behaviour_for(dist, path)["cachePolicyId"] != bearer.id, f"{path} would receive the bearer token"
    request = each_stack.one("aws:cloudfront/originRequestPolicy:OriginRequestPolicy")
    assert "Authorization" not in request["headersConfig"]["headers"]["items"]


# -- WAF: per token, on top of per IP -------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_waf_limits_each_token_on_top_of_each_ip(run_of, stack: str):
    acl = run_of(stack).one(ACL)
    rules = {r["name"]: r for r in acl["rules"]}
    per_token = rules["rate-limit-per-token"]["statement"]["rateBasedStatement"]
    assert per_token["aggregateKeyType"] == "CUSTOM_KEYS"
    assert per_token["customKeys"] == [
        {"header": {"name": "authorization", "textTransformations": [{"priority": 0, "type": "NONE"}]}}
    ]
    assert (
        per_token["limit"]
        == load_settings(load_stack_config(stack), project="webscale", stack=stack).edge.rate_limit_per_token
    )
    assert rules["rate-limit-per-ip"]["statement"]["rateBasedStatement"]["aggregateKeyType"] == "IP"
    assert "block" in rules["rate-limit-per-token"]["action"]
