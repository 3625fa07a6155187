"""A token provider for the local pipeline (`--token-provider loadtest.local_tokens:provider`).

It asks the local stand-in for the Cognito pool (`app/dev/issuer.py`, at LOADTEST_ISSUER_URL)
for the customer's access token over loopback, as a user would get one by signing in. Against a
deployed stack, write a provider that signs in with Cognito (InitiateAuth) instead.
"""

from __future__ import annotations

import functools
import os

import httpx


# A token lasts an hour, longer than any local run: one sign-in per customer, as a browser would,
# rather than one per request (the self-check asks for many at once).
@functools.cache
def provider(customer_id: str) -> str | None:
    """A token for the load test's own identity per simulated customer. Its subject is not a seeded
    customer id (the API refuses a new identity whose subject is another customer's id), so the
    API creates the customer on its first signed-in request, as for a real new user."""
    issuer = os.environ.get("LOADTEST_ISSUER_URL")
    if not issuer:
        raise RuntimeError("LOADTEST_ISSUER_URL is not set: the local issuer's URL (app/dev/issuer.py)")
    response = httpx.post(f"{issuer}/token", json={"subject": f"loadtest-{customer_id}"}, timeout=5)
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token
