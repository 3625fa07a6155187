"""Versioned event schemas. The envelope's `version` is also sent as the schema-version header."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field


class Line(BaseModel):
    sku: str
    quantity: int = Field(ge=1)
    unit_price_cents: int = Field(ge=0)


class OrderPlaced(BaseModel):
    type: Literal["OrderPlaced"] = "OrderPlaced"
    customer_id: str
    currency: str
    total_cents: int
    items: list[Line] = Field(min_length=1)


class PaymentProcessed(BaseModel):
    type: Literal["PaymentProcessed"] = "PaymentProcessed"
    customer_id: str
    payment_id: uuid.UUID
    amount_cents: int
    currency: str
    items: list[Line]


class PaymentFailed(BaseModel):
    type: Literal["PaymentFailed"] = "PaymentFailed"
    customer_id: str
    reason: str


class InventoryUpdated(BaseModel):
    type: Literal["InventoryUpdated"] = "InventoryUpdated"
    items: list[Line]


class OutOfStock(BaseModel):
    type: Literal["OutOfStock"] = "OutOfStock"
    sku: str


class OrderFulfilled(BaseModel):
    type: Literal["OrderFulfilled"] = "OrderFulfilled"
    shipment_id: uuid.UUID


Event = Annotated[
    OrderPlaced | PaymentProcessed | PaymentFailed | InventoryUpdated | OutOfStock | OrderFulfilled,
    Field(discriminator="type"),
]


class Envelope(BaseModel):
    """What travels on Kafka and sits in the outbox. The Kafka key is `order_id`."""

    version: Literal[1] = 1
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    order_id: uuid.UUID
    customer_id: str | None = Field(default=None, max_length=64)
    """The order's customer: the shard key workers route by. Set at placement and copied onto
    every follow-on event (`follow`). Optional in the schema only so that events written before
    it existed still decode: with one shard they go home, with several they are dead-lettered
    (app/store/routing.py, MissingCustomer)."""
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    event: Event

    @property
    def type(self) -> str:
        return self.event.type

    def follow(self, event: "Event") -> "Envelope":
        """The next event of the same order, for the same customer (so it routes alike)."""
        return Envelope(order_id=self.order_id, customer_id=self.customer_id, event=event)


def decode(value: bytes | None) -> Envelope:
    """Raises pydantic.ValidationError for anything malformed, including unknown versions."""
    return Envelope.model_validate_json(value or b"")
