"""Pulumi mocks that create AWS resources in moto and record the whole resource graph."""

from __future__ import annotations

import importlib
import json
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Any

import pulumi
from botocore.exceptions import BotoCoreError, ClientError
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from infra.offline import registry
from infra.offline.model import Resource


class OfflineError(Exception):
    """The offline run failed; the message names the resource and the reason."""


Progress = Callable[[str], None]
"""Told one line per component as the program creates it (the CLI prints them on stderr)."""


@cache
def is_taggable(type_: str) -> bool:
    """Whether the AWS provider applies default tags to ``type_`` (it has ``tags_all``)."""
    package, module_path, cls_name = type_.split(":")
    if package != "aws" or module_path == "index/provider":
        return False
    module = module_path.split("/")[0]
    try:
        cls = getattr(importlib.import_module(f"pulumi_aws.{module}"), cls_name)
    except (ImportError, AttributeError):
        return False
    return hasattr(cls, "tags_all")


def _unwrap_secrets(value: Any, secrets: set[str]) -> Any:
    """Replace Pulumi's secret envelopes by their values, remembering the values."""
    if rpc.is_rpc_secret(value):
        inner = rpc.unwrap_rpc_secret(value)
        _remember_secret(inner, secrets)
        return _unwrap_secrets(inner, secrets)
    if isinstance(value, dict):
        return {k: _unwrap_secrets(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v, secrets) for v in value]
    return value


def _remember_secret(value: Any, secrets: set[str]) -> None:
    if isinstance(value, str) and value:
        secrets.add(value)
    elif isinstance(value, dict):
        for v in value.values():
            _remember_secret(v, secrets)
    elif isinstance(value, list):
        for v in value:
            _remember_secret(v, secrets)


def _provider_tags(inputs: dict[str, Any]) -> dict[str, str]:
    default_tags = inputs.get("defaultTags")
    if isinstance(default_tags, str):  # provider inputs travel JSON-encoded
        default_tags = json.loads(default_tags)
    return dict((default_tags or {}).get("tags") or {})


class OfflineMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes from moto, recording every resource."""

    def __init__(self, region: str, options: dict[str, Any] | None = None, progress: Progress | None = None) -> None:
        self.region = region
        self.options = options or {}
        self.progress = progress
        self._started = time.monotonic()
        self.resources: list[Resource] = []
        self.errors: list[str] = []
        self.secrets: set[str] = set()
        self._by_urn: dict[str, Resource] = {}
        self._lock = threading.RLock()
        self._request = threading.local()

    # -- called by RecordingMonitor around each registration --------------------------
    def begin(self, request: Any, urn: str) -> None:
        self._request.current = (request, urn)
        if self.progress is not None and not request.custom and request.type != "pulumi:pulumi:Stack":
            elapsed = time.monotonic() - self._started
            self.progress(
                f"{elapsed:5.1f} s  {request.name} ({request.type}), {len(self.resources)} resources planned so far"
            )

    def lookup(self, type_: str, id_: str) -> dict[str, Any] | None:
        for r in self.resources:
            if r.type == type_ and r.id == id_:
                return r.outputs
        return None

    def find(self, type_: str) -> list[dict[str, Any]]:
        return [r.outputs for r in self.resources if r.type == type_]

    # -- pulumi.runtime.Mocks ------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        answer = registry.INVOKES.get(args.token)
        if answer is None:
            message = f"invoke {args.token}: the offline engine has no answer for it"
            self.errors.append(message)
            raise OfflineError(message)
        with self._lock:
            try:
                return answer(_unwrap_secrets(args.args, self.secrets), self.region), []
            except (ClientError, BotoCoreError, KeyError, ValueError) as err:
                message = f"invoke {args.token} failed: {type(err).__name__}: {err}"
                self.errors.append(message)
                raise OfflineError(message) from err

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        request, urn = self._request.current
        with self._lock:
            inputs = _unwrap_secrets(args.inputs, self.secrets)
            record = Resource(
                urn=urn,
                type=args.typ,
                name=args.name,
                custom=bool(args.custom),
                parent=request.parent or None,
                provider=args.provider.rsplit("::", 1)[0] if args.provider else None,
                id=None,
                inputs=inputs,
                outputs={},
                emulation="component",
                protect=bool(request.protect),
                dependencies=list(request.dependencies),
                ignore_changes=list(request.ignoreChanges),
                replace_on_changes=list(request.replaceOnChanges),
                delete_before_replace=bool(request.deleteBeforeReplace),
            )
            try:
                record.id, record.outputs = self._create(record)
            except (ClientError, BotoCoreError, OfflineError, KeyError, ValueError) as err:
                reason = f"{type(err).__name__}: {err}"
                message = f"{args.typ} '{args.name}' was rejected: {reason}"
                self.errors.append(message)
                raise OfflineError(message) from err
            for key in request.additionalSecretOutputs:
                _remember_secret(record.outputs.get(key), self.secrets)
            self.resources.append(record)
            self._by_urn[urn] = record
            return record.id, record.outputs

    def _create(self, record: Resource) -> tuple[str | None, dict[str, Any]]:
        if not record.custom:
            return None, {}
        if record.type.startswith("pulumi:providers:"):
            record.emulation = "provider"
            return f"{record.name}-provider", dict(record.inputs)

        tags = self._effective_tags(record)
        ctx = registry.Ctx(
            type=record.type,
            name=record.name,
            urn=record.urn,
            inputs=record.inputs,
            region=self._region_of(record),
            tags=tags,
            lookup=self.lookup,
            find=self.find,
            options=self.options,
            upstream=self._upstream(record),
        )
        base = dict(record.inputs)
        if is_taggable(record.type):
            base["tagsAll"] = tags

        translate = registry.find_translator(record.type)
        if translate is not None:
            created = translate(ctx)
            record.emulation = _emulation_of(record.type)
            record.note = created.note
            return created.id, {**base, **created.outputs, "id": created.id}

        synth = registry.SYNTHESIZED.get(record.type)
        if synth is None:
            synth = registry.Synthesized(reason="no translator written for this type", outputs=lambda c: {})
        record.emulation = "synthesized"
        record.note = synth.reason
        id_ = f"{record.name}-{registry.stable_suffix(record.urn)}"
        outputs = (
            {"arn": ctx.arn(record.type.split(":")[1].split("/")[0], id_)} if record.type.startswith("aws:") else {}
        )
        return id_, {**base, **outputs, **synth.outputs(ctx), "id": id_}

    def _upstream(self, record: Resource) -> dict[str, registry.Upstream]:
        """Everything ``record`` waits for: its dependencies, theirs, and so on."""
        seen: dict[str, registry.Upstream] = {}
        todo = list(record.dependencies)
        while todo:
            urn = todo.pop()
            found = self._by_urn.get(urn)
            if urn in seen or found is None:
                continue
            seen[urn] = registry.Upstream(found.urn, found.type, found.name, found.outputs)
            todo += found.dependencies
        return seen

    def _region_of(self, record: Resource) -> str:
        """Where the resource lives: its own ``region`` input, else its provider's, else the stack's."""
        provider = self._by_urn.get(record.provider or "")
        return str(record.inputs.get("region") or (provider.inputs.get("region") if provider else None) or self.region)

    def _effective_tags(self, record: Resource) -> dict[str, str]:
        if not record.type.startswith("aws:"):
            return {}
        provider = self._by_urn.get(record.provider or "")
        if provider is None or provider.name.startswith("default"):
            raise OfflineError(
                "it uses the default aws provider, which carries none of the stack's default tags; "
                "create it under the stack's provider (ResourceOptions(parent=...) or providers=)"
            )
        return {**_provider_tags(provider.inputs), **(record.inputs.get("tags") or {})}


def _emulation_of(type_: str) -> Any:
    if type_.startswith("kubernetes:"):
        return "kubernetes"
    if type_.startswith("random:"):
        return "local"
    return "moto"


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, plus the facts ``Mocks`` never sees: parent, provider, and the
    resource options (protect, dependencies, ignoreChanges, replaceOnChanges, deleteBeforeReplace)
    that travel in the registration request."""

    mocks: OfflineMocks

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        urn = self.make_urn(request.parent, request.type, request.name)
        self.mocks.begin(request, urn)
        if request.type == "pulumi:pulumi:Stack":
            self.mocks.resources.append(
                Resource(urn, request.type, request.name, False, None, None, None, {}, {}, "component")
            )
        return super().RegisterResource(request)
