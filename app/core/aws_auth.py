"""AWS IAM token providers for RDS, ElastiCache and MSK.

All three sign locally with the pod's credentials (IRSA / pod identity); none calls AWS.
Each token is short-lived, so every provider is called per new connection, never once at start.
"""

import asyncio
import time
from urllib.parse import urlencode

import boto3
import botocore.session
from aiokafka.abc import AbstractTokenProvider
from aws_msk_iam_sasl_signer import MSKAuthTokenProvider
from botocore.model import ServiceId
from botocore.signers import RequestSigner
from redis.credentials import CredentialProvider

ELASTICACHE_TOKEN_SECONDS = 900
# Renew well before expiry: a token is only checked when a connection authenticates.
TOKEN_RENEW_MARGIN_SECONDS = 120


def rds_token(*, host: str, port: int, user: str, region: str) -> str:
    """RDS IAM auth token, used as the password of one new connection (valid 15 minutes)."""
    client = boto3.client("rds", region_name=region)
    token: str = client.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=region)
    return token


class ElastiCacheIAMProvider(CredentialProvider):
    """redis-py credential provider: (user id, SigV4-presigned connect URL without scheme)."""

    def __init__(self, *, user: str, replication_group_id: str, region: str) -> None:
        self.user = user
        self.replication_group_id = replication_group_id
        self.region = region
        session = botocore.session.get_session()
        self._signer = RequestSigner(
            ServiceId("elasticache"),
            region,
            "elasticache",
            "v4",
            session.get_credentials(),
            session.get_component("event_emitter"),
        )
        self._token = ""
        self._renew_at = 0.0

    def get_credentials(self) -> tuple[str, str]:
        if time.monotonic() >= self._renew_at:
            self._token = self._sign()
            self._renew_at = time.monotonic() + ELASTICACHE_TOKEN_SECONDS - TOKEN_RENEW_MARGIN_SECONDS
        return self.user, self._token

    async def get_credentials_async(self) -> tuple[str, str]:
        return self.get_credentials()

    def _sign(self) -> str:
        query = urlencode({"Action": "connect", "User": self.user})
        request = {
            "method": "GET",
            "url": f"https://{self.replication_group_id}/?{query}",
            "body": {},
            "headers": {},
            "context": {},
        }
        url: str = self._signer.generate_presigned_url(
            request,
            operation_name="connect",
            expires_in=ELASTICACHE_TOKEN_SECONDS,
            region_name=self.region,
        )
        return url.removeprefix("https://")


class MSKTokenProvider(AbstractTokenProvider):  # type: ignore[misc]  # aiokafka is untyped
    """aiokafka SASL/OAUTHBEARER token provider backed by the MSK IAM signer."""

    def __init__(self, region: str) -> None:
        self.region = region

    async def token(self) -> str:
        # The signer resolves credentials with blocking boto3 calls; keep them off the loop.
        token, _expiry_ms = await asyncio.to_thread(MSKAuthTokenProvider.generate_auth_token, self.region)
        return str(token)
