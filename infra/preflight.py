"""``python -m infra.preflight --stack prod``: refuse a real deploy that cannot work.

``make up TARGET=aws`` runs this before ``pulumi up``. The offline engine accepts values
that only look valid (AWS's example account, documentation address ranges, example
domains), and it cannot know who will run the deploy or from where. This checks what it
can before Pulumi or AWS are asked for anything but the caller's identity, and lists
every problem at once, each naming the config key:

- documentation-only values anywhere in the stack configuration;
- the settings' own validation (the same rules as every run);
- the caller (STS GetCallerIdentity): credentials exist, every admin role is in the
  caller's account, and the caller itself is granted access to the cluster, which gives
  its creator no admin;
- that the deployer can reach the API server on the first deploy.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from infra.settings import SettingsError, load_settings

DOCUMENTATION_ACCOUNTS = frozenset({"123456789012", "111122223333", "444455556666", "777788889999", "000000000000"})
"""Account ids AWS's documentation uses in examples (and the all-zero one no account has)."""

DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
"""RFC 5737 (TEST-NET-1..3) and RFC 3849: reserved for documentation, routed nowhere."""

EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")
RESERVED_TLDS = ("example", "invalid", "test", "localhost")
"""RFC 2606 / RFC 6761: names that never resolve to anything you own."""

_ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")
_ASSUMED_ROLE = re.compile(r"^arn:aws[\w-]*:sts::(\d{12}):assumed-role/([^/]+)/")
_ROLE = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/(?:.*/)?([^/]+)$")


@dataclass(frozen=True)
class Caller:
    """Who ``pulumi up`` would run as (STS GetCallerIdentity)."""

    account: str
    arn: str

    @property
    def role_name(self) -> str | None:
        """The IAM role behind an assumed-role session; None for users and root."""
        match = _ASSUMED_ROLE.match(self.arn)
        return match.group(2) if match else None


def config_values(config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every scalar value of the stack config with its key: ``webscale:eks.adminRoleArns[0]``."""

    def walk(key: str, value: Any) -> Iterator[tuple[str, str]]:
        if isinstance(value, Mapping):
            if set(value) == {"secure"}:  # an encrypted value: nothing readable to judge
                return
            for k, v in value.items():
                yield from walk(f"{key}.{k}", v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from walk(f"{key}[{i}]", v)
        elif value is not None and not isinstance(value, bool):
            yield key, str(value)

    for key, value in config.items():
        yield from walk(key, value)


def documentation_value(value: str) -> str | None:
    """Why ``value`` can only be a placeholder from documentation, or None."""
    for account in _ACCOUNT.findall(value):
        if account in DOCUMENTATION_ACCOUNTS:
            return f"account {account} is AWS's documentation example, not an account you own"
    if "EXAMPLE" in value:
        return "contains EXAMPLE, the marker of AWS's documentation placeholders"
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        network = None
    if network is not None:
        for reserved in DOCUMENTATION_NETWORKS:
            if network.version == reserved.version and network.overlaps(reserved):  # type: ignore[arg-type]
                return f"is in {reserved}, reserved for documentation (RFC 5737/3849): no real network uses it"
    host = _host(value.lower()).rstrip(".")
    if "." in host and " " not in host and "/" not in host:
        if any(host == d or host.endswith(f".{d}") for d in EXAMPLE_DOMAINS):
            return "is an example domain (RFC 2606): you cannot own it or get a certificate for it"
        if host.rsplit(".", 1)[-1] in RESERVED_TLDS:
            return "is under a reserved top-level domain (RFC 2606/6761)"
    return None


def _host(value: str) -> str:
    """The host an email address (``oncall@host``) or an https URL names; else ``value`` itself."""
    if value.startswith(("https://", "http://")):
        return value.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    if value.count("@") == 1 and " " not in value:
        return value.split("@", 1)[1]
    return value


def placeholder_problems(config: Mapping[str, Any]) -> list[str]:
    return [f"{key} = {value!r}: {why}" for key, value in config_values(config) if (why := documentation_value(value))]


def caller_identity(region: str) -> Caller | str:
    """The caller, or why it could not be determined."""
    try:
        identity = boto3.session.Session().client("sts", region_name=region).get_caller_identity()
    except NoCredentialsError:
        return "no AWS credentials found (environment, shared config, SSO or instance role)"
    except ClientError as err:
        return f"STS GetCallerIdentity was refused ({err.response.get('Error', {}).get('Code', 'error')})"
    except BotoCoreError as err:
        return f"STS GetCallerIdentity failed ({err})"
    return Caller(account=str(identity["Account"]), arn=str(identity["Arn"]))


def access_problems(project: str, eks: Mapping[str, Any], caller: Caller | str) -> list[str]:
    """Admin roles in the caller's account, and the caller among the principals let in."""
    key = f"{project}:eks"
    admins = [str(a) for a in eks.get("adminRoleArns") or []]
    deployer = eks.get("deployerRoleArn")
    if isinstance(caller, str):
        return [
            f"AWS credentials: {caller}. Without the caller's identity {key}.adminRoleArns and "
            f"{key}.deployerRoleArn cannot be checked against its account; log in (aws sso login, or "
            "export a profile) and run the preflight again"
        ]
    problems = []
    named = [(f"{key}.adminRoleArns[{i}]", arn) for i, arn in enumerate(admins)]
    if deployer:
        named.append((f"{key}.deployerRoleArn", str(deployer)))
    for where, arn in named:
        match = _ROLE.match(arn)
        if match and match.group(1) != caller.account:
            problems.append(
                f"{where} = {arn!r}: in account {match.group(1)}, not the caller's ({caller.account}); an access "
                "entry for a role of another account cannot be used from this one"
            )
    granted = {m.group(2) for _, arn in named if (m := _ROLE.match(arn)) and m.group(1) == caller.account}
    if caller.role_name is None:
        problems.append(
            f"AWS credentials: the caller {caller.arn} is not an assumed IAM role; deploy as a role and name it in "
            f"{key}.deployerRoleArn (the cluster's access entries here are for roles)"
        )
    elif caller.role_name not in granted:
        problems.append(
            f"{key}.deployerRoleArn: the caller's role {caller.role_name!r} ({caller.arn}) is neither "
            f"{key}.deployerRoleArn nor in {key}.adminRoleArns. The cluster gives its creator no admin, so "
            "Pulumi would create the cluster and then fail on every add-on and app object; set "
            f"{key}.deployerRoleArn to arn:aws:iam::{caller.account}:role/{caller.role_name}"
        )
    return problems


def endpoint_problems(project: str, eks: Mapping[str, Any]) -> list[str]:
    """The deployer must reach the API server: Pulumi installs the add-ons and the app through it."""
    if eks.get("endpointPublicAccess") or eks.get("apiAccessCidrs") is not None:
        return []
    return [
        f"{project}:eks.apiAccessCidrs: unset, so the private-only API endpoint admits just the VPC this "
        "stack creates, which nothing reaches on a first deploy. Either set apiAccessCidrs to the private "
        "range you deploy from (VPN, peered or transit-gateway network routed to this VPC), or for the "
        "first deploy set endpointPublicAccess: true with publicAccessCidrs: [<your public IP>/32] and "
        "turn it off once a private path exists (README: First deploy on a new account)"
    ]


def preflight(config: Mapping[str, Any], *, project: str, stack: str) -> list[str]:
    """Every problem with deploying ``stack`` for real, one line each, naming the key."""
    problems = placeholder_problems(config)
    try:
        load_settings(config, project=project, stack=stack)
    except SettingsError as err:
        problems.extend(err.problems)
    eks = config.get(f"{project}:eks") or {}
    problems.extend(endpoint_problems(project, eks))
    problems.extend(access_problems(project, eks, caller_identity(str(config.get("aws:region") or "us-east-1"))))
    return problems


def main(argv: list[str] | None = None) -> int:
    from infra.offline.engine import load_stack_config, project_name, stack_names

    parser = argparse.ArgumentParser(prog="python -m infra.preflight", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, choices=stack_names())
    args = parser.parse_args(argv)
    problems = preflight(load_stack_config(args.stack), project=project_name(), stack=args.stack)
    if not problems:
        print(f"preflight: stack {args.stack!r} is ready for a real deploy")
        return 0
    listing = "\n".join(f"  - {p}" for p in problems)
    print(
        f"preflight: stack {args.stack!r} is not ready for a real deploy ({len(problems)} problem(s)):\n{listing}\n"
        f"Nothing was deployed. Fix stacks/Pulumi.{args.stack}.yaml (or `pulumi config set`) and run again.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
