"""Sign-in for the load test: a pluggable token provider, off by default.

The API requires a Cognito access token on every route but product reads. Pass
``--token-provider package.module:function``: the function gets the customer id a simulated user
acts as and returns a bearer token for it (or None for no header). It is called once per user and
customer, so it may sign in (``InitiateAuth``) and cache. ``loadtest.local_tokens:provider`` signs
in against the local pipeline's issuer.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

TokenProvider = Callable[[str], str | None]


def no_sign_in(customer_id: str) -> str | None:
    """The default: no credentials (product reads only, or an API without sign-in)."""
    return None


def load_provider(spec: str) -> TokenProvider:
    """``""`` -> :func:`no_sign_in`; ``"pkg.module:function"`` -> that function."""
    if not spec:
        return no_sign_in
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"--token-provider {spec!r} must look like package.module:function")
    provider = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(provider):
        raise ValueError(f"--token-provider {spec!r}: {module_name} has no function {attribute!r}")
    return provider  # type: ignore[no-any-return]


def headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}
