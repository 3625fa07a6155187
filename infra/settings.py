"""The stack's configuration, read once into one typed, validated object.

``stacks/Pulumi.<stack>.yaml`` says only what differs per environment; every default
lives in the component Args (see ``infra/args.py``). Bad configuration fails here,
before any resource exists, with every problem listed at once, each naming the
config key, the value, and what is allowed.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import boto3
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from infra.args import ConfigModel
from infra.components.app.args import WORKERS, AppArgs
from infra.components.cache import CacheArgs
from infra.components.database import DatabaseArgs, shard_name
from infra.components.edge import EdgeArgs
from infra.components.eks.args import EksArgs, support_ended
from infra.components.identity import IdentityArgs
from infra.components.kafka import KafkaArgs
from infra.components.network import NetworkArgs
from infra.components.observability.args import ObservabilityArgs


class SettingsError(Exception):
    """The stack configuration is invalid; ``problems`` holds one line per problem."""

    def __init__(self, stack: str, problems: list[str]) -> None:
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"stack {stack!r} has invalid configuration ({len(problems)} problem(s)):\n{listing}")


@cache
def known_regions() -> frozenset[str]:
    """AWS's commercial regions, from botocore's bundled endpoint data (no network)."""
    return frozenset(boto3.session.Session().get_available_regions("ec2"))


class StackSettings(ConfigModel):
    """Everything the program reads from the stack configuration."""

    project: str
    stack: str
    region: str
    """``aws:region``: where the stack lives."""
    owner: str = Field(min_length=1)
    """Team that owns the stack; tagged on every resource. Required: no sensible default."""
    cost_center: str = Field(min_length=1)
    """Cost center tagged on every resource, for the bill. Required: no sensible default."""
    network: NetworkArgs = NetworkArgs()
    protect_stateful_resources: bool = True
    """Pulumi ``protect`` on the database instances, the cache, the Kafka cluster and their
    KMS keys: deleting or replacing them then needs an explicit unprotect. Default on (safe)."""
    database: DatabaseArgs = DatabaseArgs()
    cache: CacheArgs = CacheArgs()
    kafka: KafkaArgs = KafkaArgs()
    edge: EdgeArgs = EdgeArgs()
    eks: EksArgs = EksArgs()
    identity: IdentityArgs = IdentityArgs()
    """End-user sign-in (``webscale:identity``): the Cognito user pool the API trusts."""
    app: AppArgs | None = None
    """The sample app on EKS (``webscale:app``). Absent: no app is deployed."""
    observability: ObservabilityArgs = ObservabilityArgs()

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        if region not in known_regions():
            close = difflib.get_close_matches(region, known_regions(), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"is not an AWS region{hint}")
        return region

    @model_validator(mode="after")
    def _brokers_fill_every_az(self) -> StackSettings:
        if self.kafka.broker_count is None:  # default: one broker per AZ
            object.__setattr__(self, "kafka", self.kafka.model_copy(update={"broker_count": self.network.az_count}))
        elif self.kafka.broker_count % self.network.az_count:
            raise ValueError(
                f"webscale:kafka.brokerCount ({self.kafka.broker_count}) must be a multiple of "
                f"webscale:network.azCount ({self.network.az_count}): MSK places the same number of brokers in every AZ"
            )
        return self

    @model_validator(mode="after")
    def _workers_fit_partitions(self) -> StackSettings:
        if self.app is None:
            return self
        ceiling = min(self.kafka.partitions_per_topic, self.kafka.max_consumer_replicas)
        for name in WORKERS:
            worker = getattr(self.app.workers, name)
            if worker.max_replicas > ceiling:
                raise ValueError(
                    f"webscale:app.workers.{name}.maxReplicas ({worker.max_replicas}) must be <= "
                    f"webscale:kafka.partitionsPerTopic ({self.kafka.partitions_per_topic}) and "
                    f"webscale:kafka.maxConsumerReplicas ({self.kafka.max_consumer_replicas}): "
                    "a partition feeds one member of a consumer group, further members idle"
                )
        # A stopping API pod must outlive the ALB's draining of it, or in-flight requests fail.
        if self.app.termination_grace_seconds <= self.edge.deregistration_delay_seconds:
            raise ValueError(
                f"webscale:app.terminationGraceSeconds ({self.app.termination_grace_seconds}) must exceed "
                f"webscale:edge.deregistrationDelaySeconds ({self.edge.deregistration_delay_seconds}): the ALB "
                "may still send in-flight requests to a target for that long after it starts draining"
            )
        return self

    @model_validator(mode="after")
    def _joining_shards_exist(self) -> StackSettings:
        if self.app is None or not self.app.joining_shards:
            return self
        names = [shard_name(index) for index in range(self.database.shards)]
        wrong = [name for name in self.app.joining_shards if name not in names[1:]]
        if wrong:
            raise ValueError(
                f"webscale:app.joiningShards names {wrong}, which are not shards being added: with "
                f"webscale:database.shards {self.database.shards} they can be {names[1:] or 'none (one shard)'}; "
                f"the home shard {names[0]} is always on the ring"
            )
        return self

    @model_validator(mode="after")
    def _image_runs_on_the_nodes(self) -> StackSettings:
        if self.app is not None and self.eks.nodes.platform not in self.app.image_platforms:
            raise ValueError(
                f"webscale:eks.nodes.amiType ({self.eks.nodes.ami_type}) runs {self.eks.nodes.platform}, which is "
                f"not in webscale:app.imagePlatforms ({', '.join(self.app.image_platforms)}): the pods would fail "
                f"with 'exec format error'; build the image for {self.eks.nodes.platform} too (docker buildx build "
                "--platform linux/amd64,linux/arm64) and list it, or change the node types"
            )
        return self

    @model_validator(mode="after")
    def _kubernetes_still_supported(self, info: ValidationInfo) -> StackSettings:
        # Checked here, not in EksArgs: the date is the caller's (tests pass one), and a
        # component default must not start failing at import time on some future day.
        today = (info.context or {}).get("today") or datetime.now(UTC).date()
        problem = support_ended(self.eks.kubernetes_version, today)
        if problem:
            raise ValueError(problem)
        return self

    def default_tags(self) -> dict[str, str]:
        """Tags every taggable AWS resource carries, through the provider's default tags."""
        return {
            "project": self.project,
            "environment": self.stack,
            "managed-by": "pulumi",
            "owner": self.owner,
            "cost-center": self.cost_center,
        }


def _key(namespace: str, loc: tuple[int | str, ...]) -> str:
    """``('network', 'azCount')`` -> ``webscale:network.azCount``; the region is ``aws:region``."""
    if not loc:
        return f"{namespace}:<stack>"
    if loc[0] == "region":
        return "aws:region"
    head, *rest = loc
    return f"{namespace}:{head}" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest)


def _describe(namespace: str, error: Any) -> str:
    key = _key(namespace, error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key{_suggest(namespace, error['loc'])}"
    if error["type"] == "missing":
        return f"{key}: is required"
    message = str(error["msg"]).removeprefix("Value error, ")
    if isinstance(error["input"], dict):  # a rule across a section's keys: the message names them
        return f"{key}: {message}"
    return f"{key} = {json.dumps(error['input'], default=str)}: {message}"


def _suggest(namespace: str, loc: tuple[int | str, ...]) -> str:
    model: Any = StackSettings
    for part in loc[:-1]:
        field = model.model_fields.get(_snake(str(part)))
        model = field.annotation if field else None
        if model is None or not hasattr(model, "model_fields"):
            return ""
    names = [f.alias or n for n, f in model.model_fields.items() if n not in ("project", "stack")]
    close = difflib.get_close_matches(str(loc[-1]), names, n=1)
    return f" (did you mean {close[0]}?)" if close else f" (known keys: {', '.join(sorted(names))})"


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


def _parse(value: Any) -> Any:
    """Config values arrive as strings; objects and lists as JSON."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        return json.loads(value)
    return value


def load_settings(config: Mapping[str, Any], *, project: str, stack: str, today: date | None = None) -> StackSettings:
    """Validate a stack's configuration (``{"aws:region": ..., "<project>:network": {...}}``).

    ``today`` stands in for the current date in rules that depend on it (EKS support dates).
    """
    data: dict[str, Any] = {"project": project, "stack": stack, "region": config.get("aws:region")}
    for key, value in config.items():
        namespace, _, name = key.partition(":")
        if namespace == project:
            data[name] = _parse(value)
    try:
        return StackSettings.model_validate(data, context={"today": today})
    except ValidationError as err:
        raise SettingsError(stack, [_describe(project, e) for e in err.errors()]) from None


def settings_from_pulumi() -> StackSettings:
    """Read the running stack's configuration (from the CLI, or from the offline engine)."""
    import pulumi
    from pulumi.runtime.config import CONFIG, get_config_env

    config = {**get_config_env(), **CONFIG.get()}
    return load_settings(config, project=pulumi.get_project(), stack=pulumi.get_stack())
