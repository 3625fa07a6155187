"""Bearer authentication: Cognito access tokens, verified against the user pool's JWKS.

The API accepts access tokens, not id tokens. An access token is what Cognito issues for calling
a resource server: it names the app client (`client_id`) and its scopes, and it is revoked by
sign-out and token revocation; an id token is for the client itself to learn who signed in.

Every failure is a 401 with the same body and `WWW-Authenticate: Bearer error="invalid_token"`
(RFC 6750), whatever check failed: the reason goes to the log, not to the caller.
"""

import asyncio
import logging
import time
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.api.deps import ShardsDep
from app.core.settings import Settings
from app.store import customers

log = logging.getLogger(__name__)
ALGORITHMS = ["RS256"]  # Cognito signs with RS256; pinning it rules out `none` and HS256-with-the-public-key
REALM = "orders"
REQUIRED_CLAIMS = ["sub", "iss", "exp", "iat", "token_use", "client_id"]
# Subject -> customer id never changes once linked, so each pod looks a subject up once.
CUSTOMER_CACHE_SIZE = 100_000

bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="A Cognito access token of the app's user pool and client.",
)


class Unauthorized(Exception):
    """Rendered as 401 with a WWW-Authenticate challenge (see app.api.main)."""

    def __init__(self, error: str | None) -> None:
        super().__init__(error or "missing")
        self.error = error

    @property
    def challenge(self) -> str:
        # No credentials: a bare challenge, no error code (RFC 6750 section 3.1).
        if self.error is None:
            return f'Bearer realm="{REALM}"'
        return f'Bearer realm="{REALM}", error="{self.error}"'

    @property
    def body(self) -> dict[str, Any]:
        if self.error is None:
            return {"detail": "authentication required", "error": "invalid_request"}
        return {"detail": "the access token is invalid or expired", "error": self.error}


class KeysUnavailable(Exception):
    """The JWKS endpoint could not be reached and no cached key fits: a 503, not the caller's fault."""


class TokenVerifier:
    """Checks signature, issuer, client, token use and lifetime of one pool's access tokens.

    Keys come from PyJWT's PyJWKClient: the key set is cached for ``jwks_cache_seconds``, and a
    token with an unknown ``kid`` (a rotation) refetches it, at most once per cooldown.
    """

    def __init__(self, settings: Settings) -> None:
        if settings.auth_issuer is None or settings.auth_client_id is None:
            raise ValueError("the API needs APP_AUTH_ISSUER and APP_AUTH_CLIENT_ID")
        self.issuer = settings.auth_issuer
        self.client_id = settings.auth_client_id
        self.leeway = settings.auth_leeway_seconds
        self.key_lifespan = float(settings.auth_jwks_cache_seconds)
        # Only kids the key set vouched for get here, so forged kids cannot grow it.
        self._keys: dict[str, tuple[jwt.PyJWK, float]] = {}
        self.keys = jwt.PyJWKClient(
            settings.jwks_url,
            cache_jwk_set=True,
            lifespan=settings.auth_jwks_cache_seconds,
            timeout=2.0,
            cooldown_duration=settings.auth_jwks_refetch_cooldown_seconds,
        )

    async def _signing_key(self, kid: str) -> jwt.PyJWK:
        """The key for `kid`, from this pod's memory while it is younger than the key set's lifespan.

        PyJWKClient may fetch (blocking urllib), so it runs off the event loop; but a thread hop
        on every request cost the API about a quarter of its CPU at full load, so a known kid
        does not take it. An unknown kid, or one past the lifespan, asks PyJWKClient again."""
        now = time.monotonic()
        cached = self._keys.get(kid)
        if cached is not None and now - cached[1] < self.key_lifespan:
            return cached[0]
        key = await asyncio.to_thread(self.keys.get_signing_key, kid)
        self._keys[kid] = (key, now)
        return key

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or Unauthorized("invalid_token")."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in ALGORITHMS or not isinstance(header.get("kid"), str):
                raise jwt.InvalidAlgorithmError(f"alg {header.get('alg')!r}")
            key = await self._signing_key(header["kid"])
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                issuer=self.issuer,
                leeway=self.leeway,
                # Access tokens carry no `aud`; the client is checked through `client_id` below.
                options={"require": REQUIRED_CLAIMS, "verify_aud": False},
            )
        except jwt.PyJWKClientConnectionError as exc:
            log.warning("signing keys unavailable: %s", exc)
            raise KeysUnavailable() from None
        except (jwt.PyJWTError, ValueError) as exc:
            log.info("token rejected: %s: %s", type(exc).__name__, exc)
            raise Unauthorized("invalid_token") from None
        if claims["token_use"] != "access" or claims["client_id"] != self.client_id:
            log.info("token rejected: token_use=%r client_id=%r", claims["token_use"], claims["client_id"])
            raise Unauthorized("invalid_token")
        if not isinstance(claims["sub"], str) or not 0 < len(claims["sub"]) <= 64:
            raise Unauthorized("invalid_token")
        return claims


def get_verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


async def token_claims(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    verifier: Annotated[TokenVerifier, Depends(get_verifier)],
) -> dict[str, Any]:
    if credentials is None:
        raise Unauthorized(None)
    return await verifier.verify(credentials.credentials)


ClaimsDep = Annotated[dict[str, Any], Depends(token_claims)]


def _text_claim(claims: dict[str, Any], name: str, limit: int) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


async def current_customer(request: Request, claims: ClaimsDep, shards: ShardsDep) -> str:
    """The signed-in customer's id: the `users` row linked to the token's subject, created on
    first sign-in (with email and name if the token carries them).

    The subject is looked up before the shard is known, so the directory is global: the home
    shard's `users`. A customer on another shard also gets its own row there (orders reference
    it, notifications read its email); that insert is idempotent and runs on every cache miss,
    so a sign-in that died between the two writes completes on the next request."""
    known: dict[str, str] = request.app.state.customers
    subject: str = claims["sub"]
    if (customer := known.get(subject)) is not None:
        return customer
    email, name = _text_claim(claims, "email", 254), _text_claim(claims, "name", 200)
    try:
        async with shards.home.write() as conn:
            customer = await customers.for_subject(conn, subject, email=email, name=name)
    except customers.SubjectTaken:
        log.warning("subject %r collides with another customer's id", subject)
        raise Unauthorized("invalid_token") from None
    if (own := shards.for_customer(customer)) is not shards.home:
        async with own.write() as conn:
            await customers.ensure(conn, customer, email=email, name=name)
    if len(known) >= CUSTOMER_CACHE_SIZE:
        known.clear()
    known[subject] = customer
    return customer


CustomerDep = Annotated[str, Depends(current_customer)]
