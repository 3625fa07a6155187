"""How the offline engine maps Pulumi resource types and invokes onto moto.

A *translator* turns one Pulumi resource registration into real AWS API calls
against moto and returns the outputs the provider would return. A type that moto
cannot emulate is declared with :func:`synthesized`, which states the reason; the
engine then makes deterministic outputs and lists the resource as "not emulated".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

ACCOUNT_ID = "123456789012"  # moto's default account

_clients: dict[tuple[str, str], Any] = {}


def client(service: str, region: str) -> Any:
    """A boto3 client for ``service`` in ``region``, made once per run.

    Making a client costs about 20 ms (it builds a class from the service model); a run makes
    hundreds of calls on a dozen services. botocore clients are thread-safe.
    """
    key = (service, region)
    if key not in _clients:
        _clients[key] = boto3.client(service, region_name=region)
    return _clients[key]


def forget_clients() -> None:
    """Drop the clients of the last run (each run starts with fresh credentials and moto state)."""
    _clients.clear()


@dataclass(frozen=True)
class Upstream:
    """A resource another one depends on: enough to judge ordering rules."""

    urn: str
    type: str
    name: str
    outputs: Mapping[str, Any]


@dataclass
class Ctx:
    """What a translator knows about the resource it is creating."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    region: str
    tags: dict[str, str]
    """The resource's effective tags (provider default tags merged with its own)."""
    lookup: Callable[[str, str], dict[str, Any] | None] = field(repr=False)
    """``lookup(type, id)`` returns the outputs of an earlier resource, for cross-references."""
    find: Callable[[str], list[dict[str, Any]]] = field(repr=False)
    """``find(type)`` returns the outputs of every earlier resource of that type."""
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """The run's ``offline:`` configuration (what an earlier deploy left, such as pushed images)."""
    upstream: Mapping[str, Upstream] = field(default_factory=dict, repr=False)
    """Every resource this one waits for, directly or transitively, by URN."""

    def waits_for(self, type_: str) -> list[Upstream]:
        """The resources of ``type_`` this one waits for (directly or transitively)."""
        return [u for u in self.upstream.values() if u.type == type_]

    def client(self, service: str) -> Any:
        return client(service, self.region)

    @property
    def account_id(self) -> str:
        return ACCOUNT_ID

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{ACCOUNT_ID}:{resource}"

    def tag_list(self) -> list[dict[str, str]]:
        """Tags in the ``[{"Key": ..., "Value": ...}]`` shape most AWS APIs take."""
        return [{"Key": k, "Value": v} for k, v in sorted(self.tags.items())]

    def tag_spec(self, resource_type: str) -> list[dict[str, Any]]:
        """EC2's ``TagSpecifications`` argument."""
        return [{"ResourceType": resource_type, "Tags": self.tag_list()}] if self.tags else []

    def physical_name(self, key: str = "name", prefix_key: str = "namePrefix", max_len: int = 63) -> str:
        """The name the provider would use: the input, or a suffixed prefix (auto-naming)."""
        if self.inputs.get(key):
            return str(self.inputs[key])
        base = self.inputs.get(prefix_key) or f"{self.name}-"
        return (str(base) + stable_suffix(self.urn))[:max_len]


@dataclass(frozen=True)
class Created:
    """What a translator returns: the physical id and the outputs it adds to the inputs."""

    id: str
    outputs: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""
    """Shown next to the resource in the report (for example what was validated, or not)."""


Translator = Callable[[Ctx], Created]


@dataclass(frozen=True)
class Synthesized:
    """A type moto cannot emulate, with the reason and how to make its outputs."""

    reason: str
    outputs: Callable[[Ctx], Mapping[str, Any]]


TRANSLATORS: dict[str, Translator] = {}
PREFIX_TRANSLATORS: dict[str, Translator] = {}
SYNTHESIZED: dict[str, Synthesized] = {}
INVOKES: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {}


def translator(*types: str) -> Callable[[Translator], Translator]:
    """Register a function that emulates ``types`` in moto."""

    def register(fn: Translator) -> Translator:
        for t in types:
            if t in TRANSLATORS or t in SYNTHESIZED:
                raise ValueError(f"{t} is registered twice")
            TRANSLATORS[t] = fn
        return fn

    return register


def translator_for_prefix(prefix: str) -> Callable[[Translator], Translator]:
    """Register a function for every type starting with ``prefix`` (``"kubernetes:"``).

    A translator registered for the exact type wins over a prefix translator.
    """

    def register(fn: Translator) -> Translator:
        if prefix in PREFIX_TRANSLATORS:
            raise ValueError(f"{prefix} is registered twice")
        PREFIX_TRANSLATORS[prefix] = fn
        return fn

    return register


def find_translator(type_: str) -> Translator | None:
    if type_ in TRANSLATORS:
        return TRANSLATORS[type_]
    for prefix, fn in PREFIX_TRANSLATORS.items():
        if type_.startswith(prefix) and type_ not in SYNTHESIZED:
            return fn
    return None


def synthesized(type_: str, reason: str, outputs: Callable[[Ctx], Mapping[str, Any]] | None = None) -> None:
    """Declare that moto cannot emulate ``type_`` and say why."""
    if type_ in TRANSLATORS or type_ in SYNTHESIZED:
        raise ValueError(f"{type_} is registered twice")
    SYNTHESIZED[type_] = Synthesized(reason, outputs or (lambda ctx: {}))


def invoke(*tokens: str) -> Callable[[Callable[[dict[str, Any], str], dict[str, Any]]], Any]:
    """Register the answer to a provider function call (``aws.get_region`` and friends)."""

    def register(fn: Callable[[dict[str, Any], str], dict[str, Any]]) -> Any:
        for t in tokens:
            INVOKES[t] = fn
        return fn

    return register


def stable_suffix(seed: str, length: int = 7) -> str:
    """A deterministic stand-in for the random suffix Pulumi's auto-naming adds."""
    return hashlib.sha256(seed.encode()).hexdigest()[:length]
