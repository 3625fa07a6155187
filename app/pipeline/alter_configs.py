"""IncrementalAlterConfigs (Kafka API 44, version 0), which aiokafka does not ship.

aiokafka has only the legacy AlterConfigs, which replaces a topic's whole dynamic config set:
changing `retention.ms` that way silently resets every other per-topic override. The
incremental request changes just the named keys, like `kafka-configs.sh --alter --add-config`.
"""

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Boolean, Int8, Int16, Int32, Schema, String

TOPIC_RESOURCE = 2
SET = 0


class IncrementalAlterConfigsResponse_v0(Response):  # noqa: N801 - aiokafka's naming
    API_KEY = 44
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "responses",
            Array(
                ("error_code", Int16),
                ("error_message", String("utf-8")),
                ("resource_type", Int8),
                ("resource_name", String("utf-8")),
            ),
        ),
    )


class IncrementalAlterConfigsRequest_v0(RequestStruct):  # noqa: N801 - aiokafka's naming
    API_KEY = 44
    API_VERSION = 0
    RESPONSE_TYPE = IncrementalAlterConfigsResponse_v0
    SCHEMA = Schema(
        (
            "resources",
            Array(
                ("resource_type", Int8),
                ("resource_name", String("utf-8")),
                ("configs", Array(("name", String("utf-8")), ("config_operation", Int8), ("value", String("utf-8")))),
            ),
        ),
        ("validate_only", Boolean),
    )


class IncrementalAlterConfigsRequest(Request[IncrementalAlterConfigsRequest_v0]):
    API_KEY = 44

    def __init__(self, topics: dict[str, dict[str, str]]) -> None:
        self._resources = [
            (TOPIC_RESOURCE, topic, [(name, SET, value) for name, value in configs.items()])
            for topic, configs in topics.items()
        ]

    def build(self, request_struct_class: type[IncrementalAlterConfigsRequest_v0]) -> IncrementalAlterConfigsRequest_v0:
        return request_struct_class(self._resources, False)


async def set_topic_configs(admin: AIOKafkaAdminClient, topics: dict[str, dict[str, str]]) -> None:
    """Set the given keys on each topic, leaving its other overrides alone; raise on any error."""
    if not topics:
        return
    response = await admin._send_request(IncrementalAlterConfigsRequest(topics))
    failed = [f"{name}: {code} {message}" for code, message, _, name in response.responses if code]
    if failed:
        raise RuntimeError(f"altering topic configs failed: {'; '.join(failed)}")
