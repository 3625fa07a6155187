"""A local stand-in for a Cognito user pool: an RSA key pair, its JWKS served over HTTP on
loopback, and access tokens shaped like Cognito's. `make app` and the tests use it, so the API's
verification code (JWKS fetch, cache, rotation, claims) runs unchanged against it.

Never part of a deployment: the API refuses a non-Cognito issuer unless APP_AUTH_LOCAL_DEV is set.
"""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from app.dev.localbroker import free_port

CLIENT_ID = "local-app-client"
TOKEN_SECONDS = 3600


class _Key:
    def __init__(self) -> None:
        self.kid = uuid.uuid4().hex
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return jwk | {"kid": self.kid, "alg": "RS256", "use": "sig"}


class LocalIssuer:
    """Serves ``/.well-known/jwks.json`` on 127.0.0.1 and mints Cognito-style access tokens, in
    process (``mint``) or for another local process (``POST /token`` with ``{"subject": ...}``:
    the storefront's local sign-in, the load test's users).

    ``rotate()`` publishes a new signing key (keeping the old one, as Cognito does during a
    rotation unless ``retire=True``); ``jwks_fetches`` counts requests for the key set.
    """

    def __init__(self, client_id: str = CLIENT_ID) -> None:
        self.client_id = client_id
        self.keys = [_Key()]
        self.jwks_fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/.well-known/jwks.json":
                    self.send_error(404)
                    return
                issuer.jwks_fetches += 1
                body = json.dumps({"keys": [key.public_jwk() for key in issuer.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                # The storefront's local sign-in (app/api/devauth.py): a token for a chosen
                # subject. Loopback only, like the whole issuer; Cognito's hosted UI replaces it.
                if self.path != "/token":
                    self.send_error(404)
                    return
                try:
                    length = int(self.headers.get("Content-Length", "0"))
                    subject = json.loads(self.rfile.read(min(length, 4096)) or b"{}").get("subject")
                except (ValueError, AttributeError):
                    subject = None
                if not isinstance(subject, str) or not 0 < len(subject) <= 64:
                    self.send_error(400, "a JSON body with a subject of 1 to 64 characters")
                    return
                body = json.dumps(
                    {"access_token": issuer.mint(subject), "token_type": "Bearer", "expires_in": TOKEN_SECONDS}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/.well-known/jwks.json"

    def start(self) -> "LocalIssuer":
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a serve loop that was never started
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "LocalIssuer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rotate(self, *, retire: bool = False) -> None:
        self.keys = [_Key()] if retire else [*self.keys, _Key()]

    def claims(self, subject: str, **overrides: Any) -> dict[str, Any]:
        """The claims of a Cognito access token for ``subject``; overrides replace or add claims."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": subject,
            "iss": self.issuer,
            "client_id": self.client_id,
            "token_use": "access",
            "scope": "openid",
            "auth_time": now,
            "iat": now,
            "exp": now + TOKEN_SECONDS,
            "jti": uuid.uuid4().hex,
            "username": subject,
        }
        return claims | overrides

    def mint(self, subject: str, **overrides: Any) -> str:
        """An RS256 token signed with the newest key."""
        key = self.keys[-1]
        return jwt.encode(self.claims(subject, **overrides), key.private, algorithm="RS256", headers={"kid": key.kid})

    def headers(self, subject: str, **overrides: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.mint(subject, **overrides)}"}
