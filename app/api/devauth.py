"""Local sign-in for the storefront: ``POST /api/dev/token`` mints an access token for a chosen
customer through the local issuer (app/dev/issuer.py).

Mounted only when ``APP_AUTH_LOCAL_DEV`` is on, which accepts only a loopback issuer and which the
infra program refuses to put in a deployed stack. In AWS the storefront signs in through the
Cognito hosted UI instead; this route does not exist there.
"""

import asyncio
import json
import logging
import urllib.error
import urllib.request
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select, update

from app.api.deps import DatabaseDep, SettingsDep
from app.store.tables import users

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/dev")
ISSUER_TIMEOUT_SECONDS = 2.0


class DevSignIn(BaseModel):
    customer_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def _mint(issuer: str, subject: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{issuer}/token",
        data=json.dumps({"subject": subject}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=ISSUER_TIMEOUT_SECONDS) as answer:
        token: dict[str, Any] = json.loads(answer.read())
    return token


@router.post("/token", include_in_schema=False)
async def dev_token(
    body: DevSignIn, response: Response, database: DatabaseDep, settings: SettingsDep
) -> dict[str, Any]:
    """An access token whose subject is the customer's (linked on first use, as the seeded
    customers have none), so the API's usual verification signs the browser in as them."""
    assert settings.auth_issuer is not None  # the API does not start without one
    async with database.write() as conn:
        # The seeded customers have no subject yet: link each to its own id, as `make app`
        # does for cust-0001, so the token's subject names this customer and no other.
        await conn.execute(
            update(users)
            .where(users.c.id == body.customer_id, users.c.subject.is_(None))
            .values(subject=body.customer_id)
        )
        subject = (
            await conn.execute(select(users.c.subject).where(users.c.id == body.customer_id))
        ).scalar_one_or_none()
    if subject is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "user not found")
    try:
        token = await asyncio.to_thread(_mint, settings.auth_issuer, subject)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.warning("local issuer unavailable: %r", exc)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the local token issuer cannot be reached") from None
    response.headers["Cache-Control"] = "no-store"
    return {"access_token": token["access_token"], "token_type": "Bearer", "expires_in": token["expires_in"]}
