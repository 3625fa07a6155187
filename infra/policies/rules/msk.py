"""MSK rules (provisioned clusters). Public packs have nothing for MSK.

MSK Serverless (``aws:msk/serverlessCluster:ServerlessCluster``) always uses TLS and IAM
authentication and has no public access, so it complies by construction and is not listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.policies.rules._rule import Control, Problems, get, resource_rule

CLUSTER = "aws:msk/cluster:Cluster"


def in_transit_problems(props: Mapping[str, Any]) -> Problems:
    """MSK.1 (between brokers), plus TLS-only client connections (the control's in-transit intent)."""
    transit = get(props, "encryptionInfo", "encryptionInTransit", default={})
    problems = []
    if not get(transit, "inCluster", default=True):  # MSK default: true
        problems.append("traffic between brokers is not encrypted (in_cluster=False)")
    client = get(transit, "clientBroker", default="TLS")  # MSK default: TLS
    if client != "TLS":
        problems.append(f"clients may connect in plaintext (client_broker={client!r})")
    return problems


def public_access_problems(props: Mapping[str, Any]) -> Problems:
    kind = get(props, "brokerNodeGroupInfo", "connectivityInfo", "publicAccess", "type", default="DISABLED")
    return [] if kind == "DISABLED" else [f"brokers are publicly reachable (public_access.type={kind!r})"]


def unauthenticated_problems(props: Mapping[str, Any]) -> Problems:
    auth = get(props, "clientAuthentication")
    if auth is None:
        return ["no client_authentication block: MSK then allows unauthenticated clients"]
    if get(auth, "unauthenticated", default=False):
        return ["unauthenticated client access is enabled"]
    has_method = get(auth, "sasl", "iam") or get(auth, "sasl", "scram") or get(auth, "tls")
    return [] if has_method else ["no client authentication method (IAM, SCRAM or TLS) is enabled"]


POLICIES = [
    resource_rule(
        "msk-1-encrypted-in-transit",
        Control("MSK.1", "MSK clusters should be encrypted in transit among broker nodes"),
        [CLUSTER],
        in_transit_problems,
        'set encryption_info.encryption_in_transit={"in_cluster": True, "client_broker": "TLS"} on the aws.msk.Cluster',
        why="Client-broker traffic must be TLS too (client_broker=TLS), not only broker-to-broker.",
    ),
    resource_rule(
        "msk-4-no-public-access",
        Control("MSK.4", "MSK clusters should have public access disabled"),
        [CLUSTER],
        public_access_problems,
        'set broker_node_group_info.connectivity_info.public_access.type="DISABLED" on the aws.msk.Cluster',
    ),
    resource_rule(
        "msk-6-no-unauthenticated-access",
        Control("MSK.6", "MSK clusters should disable unauthenticated access"),
        [CLUSTER],
        unauthenticated_problems,
        'set client_authentication={"sasl": {"iam": True}, "unauthenticated": False} on the aws.msk.Cluster',
    ),
]
