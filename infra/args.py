"""The base every component's Args and the stack settings share.

Component Args double as the schema of their section of the stack configuration:
each field is written once, with its default and the reason for it, and the same
object is handed to the component.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ConfigModel(BaseModel):
    """Frozen, keyword-only, camelCase in YAML, and strict about unknown keys (typos)."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
    )


LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
"""The retention periods CloudWatch Logs accepts."""


def check_log_retention(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"must be one of the periods CloudWatch Logs accepts: {', '.join(map(str, LOG_RETENTION_DAYS))}"
        )
    return days
