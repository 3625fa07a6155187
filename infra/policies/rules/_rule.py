"""Building blocks shared by every rule module: property access that works on the proxies the
Pulumi engine hands to policies, and two constructors that turn a pure predicate into a policy.

A predicate takes a resource's props (camelCase, as Pulumi passes them) and returns the problems
it found, as short sentences; an empty list means compliant. The constructors add what every
violation message must say: the resource (type and name), the control ID and the fix.

Props arrive as read-only ``Mapping``/``Sequence`` proxies (never ``dict``/``list``) when the CLI
runs the pack, so nothing here checks ``isinstance(x, dict)``. A key the program did not set is
absent: each predicate treats absence as the provider's documented default for that argument.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

FSBP = "AWS Foundational Security Best Practices"
PSS = "Kubernetes Pod Security Standards"
BASELINE = "webscale workload baseline"

Problems = list[str]
Predicate = Callable[[Mapping[str, Any]], Iterable[str]]


# -- property access that tolerates proxies and absent keys ---------------------------------------
def get(props: Any, *path: str | int, default: Any = None) -> Any:
    """``props[path[0]][path[1]]...``, or ``default`` when any step is absent or null."""
    value = props
    for key in path:
        if isinstance(key, int):
            if not is_list(value) or key >= len(value):
                return default
        elif not is_map(value) or key not in value:
            return default
        value = value[key]
        if value is None:
            return default
    return value


def is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def items(value: Any) -> list[Any]:
    """A list/sequence property as a list; a single object (some providers flatten max-1 blocks) as [it]."""
    if value is None:
        return []
    if is_list(value):
        return list(value)
    return [value]


# -- policies --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Control:
    """The control a rule enforces: ``RDS.2`` in the AWS FSBP standard, for example."""

    id: str
    title: str
    framework: str = FSBP

    def compliance(self) -> PolicyComplianceFramework:
        return PolicyComplianceFramework(name=self.framework, reference=self.id)


def resource_label(resource_type: str, name: str) -> str:
    return f"{resource_type} '{name}'"


def violation(label: str, control: Control, problem: str, fix: str) -> str:
    return f"{label} [{control.id}] {problem}. Fix: {fix}"


def resource_rule(
    name: str,
    control: Control,
    types: Iterable[str],
    check: Predicate | Mapping[str, Predicate],
    fix: str,
    *,
    level: EnforcementLevel = MANDATORY,
    why: str = "",
) -> ResourceValidationPolicy:
    """A policy that runs ``check`` on every resource of ``types`` and reports each problem.

    ``check`` may be one predicate for every type, or a predicate per type.
    """
    wanted = frozenset(types)
    per_type = dict(check) if isinstance(check, Mapping) else dict.fromkeys(wanted, check)
    if set(per_type) != wanted:
        raise ValueError(f"{name}: predicates for {sorted(per_type)} but types {sorted(wanted)}")

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        predicate = per_type.get(args.resource_type)
        if predicate is None:
            return
        label = resource_label(args.resource_type, args.name)
        for problem in predicate(args.props):
            report_violation(violation(label, control, problem, fix), None)

    return ResourceValidationPolicy(
        name=name,
        description=_description(control, why),
        validate=validate,
        enforcement_level=level,
        framework=control.compliance(),
        remediation_steps=fix,
        tags=sorted(wanted),
    )


StackCheck = Callable[[Sequence[PolicyResource]], Iterable[tuple[PolicyResource, str]]]


def stack_rule(
    name: str,
    control: Control,
    check: StackCheck,
    fix: str,
    *,
    level: EnforcementLevel = MANDATORY,
    why: str = "",
) -> StackValidationPolicy:
    """A policy over the whole stack: ``check`` yields (resource, problem) pairs.

    Stack policies see each resource's *outputs*; during a real ``pulumi preview`` some of them
    are unknown, and the engine then reports the policy as not runnable (an advisory note) instead
    of passing or failing it. ``pulumi up`` runs it with every value known.
    """

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for resource, problem in check(args.resources):
            label = resource_label(resource.resource_type, resource.name)
            report_violation(violation(label, control, problem, fix), resource.urn)

    return StackValidationPolicy(
        name=name,
        description=_description(control, why),
        validate=validate,
        enforcement_level=level,
        framework=control.compliance(),
        remediation_steps=fix,
    )


def of_type(resources: Sequence[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def _description(control: Control, why: str) -> str:
    text = f'{control.framework} {control.id}: "{control.title}".'
    return f"{text} {why}".strip()
