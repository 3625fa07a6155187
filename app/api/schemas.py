"""API request and response bodies. Validation errors become 422s that name the field."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.api.currencies import ISO_4217


def _iso_currency(code: str) -> str:
    if code not in ISO_4217:
        raise ValueError("not an ISO 4217 currency code")
    return code


Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,12}(-[A-Z0-9]{2,12}){0,3}$", max_length=32)]
CustomerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), AfterValidator(_iso_currency)]


class LineItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    quantity: int = Field(ge=1, le=100, strict=True)


class OrderRequest(BaseModel):
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
    email: str
    name: str


class ProductView(BaseModel):
    sku: str
    name: str
    price_cents: int
    stock: int


class ProductPage(BaseModel):
    items: list[ProductView]
    """The catalogue in SKU order, at most ``PRODUCT_PAGE_LIMIT`` products."""
