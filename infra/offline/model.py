"""The resource graph an offline run produces, and the questions tests ask of it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Emulation = Literal["moto", "synthesized", "component", "provider", "local", "kubernetes"]
"""How a resource came to exist offline:

- ``moto``: created through the AWS API against moto; ids, ARNs and endpoints are moto's.
- ``synthesized``: moto lacks the API; outputs are deterministic stand-ins ("not emulated").
- ``component``: a ComponentResource, which has no cloud state of its own.
- ``provider``: a provider instance (aws, kubernetes).
- ``local``: computed on the machine by its provider in real life too (pulumi-random).
- ``kubernetes``: a Kubernetes object, recorded (and schema-validated where a schema exists).
"""


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    id: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    emulation: Emulation
    note: str = ""
    protect: bool = False
    dependencies: list[str] = field(default_factory=list)
    """URNs this resource waits for: ``depends_on`` plus every resource whose outputs it takes."""
    ignore_changes: list[str] = field(default_factory=list)
    """``ignore_changes`` property paths, as the engine receives them (camelCase)."""
    replace_on_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False

    def __getitem__(self, key: str) -> Any:
        """The resource's output (falling back to its input) named ``key``."""
        if key in self.outputs:
            return self.outputs[key]
        return self.inputs[key]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


@dataclass
class StackRun:
    """Everything one offline run of the stack program produced."""

    stack: str
    project: str
    region: str
    resources: list[Resource]
    outputs: dict[str, Any]
    secrets: set[str] = field(default_factory=set, repr=False)
    """Every secret value the run saw; reports replace them with ``[secret]``."""

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Resource:
        """The single resource of ``type_`` (named ``name`` when given); fails loudly otherwise."""
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise LookupError(f"expected one {type_} named {name!r} in {self.stack}, found {names}")
        return found[0]

    def by_urn(self, urn: str) -> Resource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise LookupError(urn)

    def by_id(self, type_: str, id_: str) -> Resource:
        for r in self.of_type(type_):
            if r.id == id_:
                return r
        raise LookupError(f"no {type_} with id {id_} in {self.stack}")

    def children(self, parent: Resource, type_: str | None = None) -> list[Resource]:
        """Direct and indirect children of ``parent``, optionally of one type."""
        return [r for r in self.descendants(parent) if type_ is None or r.type == type_]

    def descendants(self, parent: Resource) -> Iterator[Resource]:
        for r in self.resources:
            if r.parent == parent.urn:
                yield r
                yield from self.descendants(r)

    def depends_on(self, resource: Resource, target: Resource) -> bool:
        """Whether ``resource`` waits for ``target``, directly or through other dependencies."""
        seen: set[str] = set()
        todo = list(resource.dependencies)
        while todo:
            urn = todo.pop()
            if urn == target.urn:
                return True
            if urn in seen:
                continue
            seen.add(urn)
            todo.extend(next((r.dependencies for r in self.resources if r.urn == urn), []))
        return False

    def count(self, emulation: Emulation) -> int:
        return sum(1 for r in self.resources if r.emulation == emulation)
