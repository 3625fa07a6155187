"""What the OpenAPI says each route can answer besides its 2xx, so the contract is the truth."""

from typing import Any

from app.api.schemas import AuthProblem, Problem

_TEXT = {"schema": {"type": "string"}}

SIGNED_IN: dict[int | str, dict[str, Any]] = {
    401: {
        "model": AuthProblem,
        "description": "No access token, or one that is invalid or expired.",
        "headers": {"WWW-Authenticate": {**_TEXT, "required": True, "description": "A Bearer challenge (RFC 6750)."}},
    },
    503: {
        "model": Problem,
        "description": "The user pool's signing keys cannot be fetched right now.",
        "headers": {"Retry-After": {**_TEXT, "required": True, "description": "Seconds to wait."}},
    },
}


def not_found(what: str) -> dict[int | str, dict[str, Any]]:
    return {404: {"model": Problem, "description": f"No such {what}, or not the signed-in customer's."}}


ORDER_CREATED: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Accepted: the order is pending; its events follow asynchronously.",
        "headers": {
            "Location": {**_TEXT, "required": True, "description": "The order's URL."},
            "Idempotent-Replayed": {**_TEXT, "description": "`true` when an earlier order with this key is returned."},
        },
        # Stateful testing (and clients) learn that the created order is read back here.
        "links": {
            "GetOrder": {
                "operationId": "get_order_api_orders__order_id__get",
                "parameters": {"order_id": "$response.body#/id"},
                "description": "The order just placed.",
            }
        },
    },
    400: {"model": Problem, "description": "The body cannot be decoded at all (e.g. it is not UTF-8)."},
    403: {"model": Problem, "description": "`customer_id` names someone other than the signed-in customer."},
}
