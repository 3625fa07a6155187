"""API request and response bodies. Validation errors become 422s that name the field."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from app.api.currencies import ISO_4217


def _iso_currency(code: str) -> str:
    if code not in ISO_4217:
        raise ValueError("not an ISO 4217 currency code")
    return code


Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,12}(-[A-Z0-9]{2,12}){0,3}$", max_length=32)]
CustomerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# The enum puts the ISO 4217 rule into the OpenAPI (a client or fuzzer sees which codes pass);
# the validator keeps the 422 naming the field.
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_iso_currency),
    WithJsonSchema({"type": "string", "enum": sorted(ISO_4217), "description": "An active ISO 4217 code."}),
]


def _whole_number(value: object) -> object:
    """JSON Schema's integer includes 2.0; strings ("2") and booleans are still refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON integer")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("must be a whole number")
    return int(value)


class LineItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    quantity: Annotated[int, BeforeValidator(_whole_number)] = Field(ge=1, le=100)


class OrderBody(BaseModel):
    """What a client sends. The customer is the signed-in one; `customer_id` is accepted only
    while clients migrate, and only if it names that same customer."""

    model_config = ConfigDict(extra="forbid")
    customer_id: CustomerId | None = Field(
        default=None,
        description="Deprecated: the customer is the signed-in one. If sent, it must name that customer.",
        json_schema_extra={"deprecated": True},
    )
    currency: Currency
    items: list[LineItem] = Field(min_length=1, max_length=50)


class OrderRequest(BaseModel):
    """An order to place, for a known customer (built from the body and the token)."""

    model_config = ConfigDict(extra="forbid")
    customer_id: CustomerId
    currency: Currency
    items: list[LineItem] = Field(min_length=1, max_length=50)


class OrderAccepted(BaseModel):
    id: uuid.UUID
    status: str


class StatusChange(BaseModel):
    status: str
    reason: str | None
    at: datetime


class OrderLine(BaseModel):
    sku: str
    quantity: int
    unit_price_cents: int


class OrderView(BaseModel):
    id: uuid.UUID
    customer_id: str
    status: str
    currency: str
    total_cents: int
    items: list[OrderLine]
    history: list[StatusChange]


class UserView(BaseModel):
    id: str
    email: str | None
    name: str | None


class ProductView(BaseModel):
    sku: str
    name: str
    price_cents: int
    stock: int


class ProductPage(BaseModel):
    items: list[ProductView]
    """The catalogue in SKU order, at most ``PRODUCT_PAGE_LIMIT`` products."""


class Problem(BaseModel):
    """The body of a 403, 404 or 503."""

    detail: str


class AuthProblem(BaseModel):
    """The body of a 401: the RFC 6750 error code, never which check failed."""

    detail: str
    error: Literal["invalid_request", "invalid_token"]
