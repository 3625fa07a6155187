"""Cognito user pool rules: threat protection (FSBP Cognito.1), password strength, MFA, and
deletion protection.

Only Cognito.1 is cited by its FSBP id (checked against the Security Hub control list); the
others are this project's baseline, written to the same bar.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.policies.rules._rule import ADVISORY, BASELINE, Control, Problems, get, resource_rule

USER_POOL = "aws:cognito/userPool:UserPool"
MIN_PASSWORD_LENGTH = 12
CLASSES = ("requireLowercase", "requireUppercase", "requireNumbers", "requireSymbols")


def threat_protection_problems(props: Mapping[str, Any]) -> Problems:
    mode = get(props, "userPoolAddOns", "advancedSecurityMode", default="OFF")
    problems = [] if mode == "ENFORCED" else [f"threat protection is {mode!r}, not 'ENFORCED'"]
    tier = get(props, "userPoolTier", default="ESSENTIALS")
    if tier != "PLUS":
        problems.append(f"the feature plan is {tier!r}: threat protection needs 'PLUS'")
    return problems


def password_problems(props: Mapping[str, Any]) -> Problems:
    policy = get(props, "passwordPolicy", default={})
    problems = []
    length = int(get(policy, "minimumLength", default=8))  # Cognito's default: 8
    if length < MIN_PASSWORD_LENGTH:
        problems.append(f"passwords may be {length} characters, fewer than {MIN_PASSWORD_LENGTH}")
    missing = [c for c in CLASSES if get(policy, c, default=True) is False]
    if missing:
        problems.append(f"character classes not required: {', '.join(missing)}")
    days = int(get(policy, "temporaryPasswordValidityDays", default=7))
    if days > 7:
        problems.append(f"temporary passwords last {days} days, more than 7")
    return problems


def mfa_problems(props: Mapping[str, Any]) -> Problems:
    mfa = get(props, "mfaConfiguration", default="OFF")
    return [] if mfa == "ON" else [f"MFA is {mfa!r}, not required ('ON')"]


def deletion_problems(props: Mapping[str, Any]) -> Problems:
    state = get(props, "deletionProtection", default="INACTIVE")
    return [] if state == "ACTIVE" else [f"deletion protection is {state!r}: the pool and its users can be deleted"]


POLICIES = [
    resource_rule(
        "cognito-1-threat-protection-enforced",
        Control(
            "Cognito.1",
            "Cognito user pools should have threat protection activated with full function enforcement mode "
            "for standard authentication",
        ),
        [USER_POOL],
        threat_protection_problems,
        'set user_pool_tier="PLUS" and user_pool_add_ons={"advanced_security_mode": "ENFORCED"} on the aws.cognito.UserPool',
    ),
    resource_rule(
        "identity-1-password-policy-strong",
        Control("Identity.1", "User pool passwords are long and use every character class", BASELINE),
        [USER_POOL],
        password_problems,
        f"set password_policy minimum_length >= {MIN_PASSWORD_LENGTH}, every require_* flag true and "
        "temporary_password_validity_days <= 7",
    ),
    resource_rule(
        "identity-2-mfa-required",
        Control("Identity.2", "User pools require multi-factor authentication", BASELINE),
        [USER_POOL],
        mfa_problems,
        'set mfa_configuration="ON" (webscale:identity.mfa) with software_token_mfa_configuration enabled',
        level=ADVISORY,
        why="Advisory: dev keeps MFA optional so test users need no authenticator; prod sets it ON.",
    ),
    resource_rule(
        "identity-3-deletion-protection",
        Control("Identity.3", "User pools have deletion protection", BASELINE),
        [USER_POOL],
        deletion_problems,
        'set deletion_protection="ACTIVE" (webscale:identity.deletionProtection)',
        level=ADVISORY,
        why="Advisory: dev turns it off to stay disposable, as it does for the database.",
    ),
]
