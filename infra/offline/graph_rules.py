"""Rules over the recorded resource graph: ordering and resource options moto never sees.

moto answers each API call on its own, in the order the program makes them, so it cannot
tell that a real deploy would run two calls in parallel, or that an option the program
passes does nothing. These rules read the graph the offline run recorded (dependencies
and resource options from each registration request) and name each problem.
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from typing import Any

from pulumi import _types

from infra.offline.model import Resource, StackRun

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_ACCESS = {
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "ownership controls",
    "aws:s3/bucketAcl:BucketAcl": "ACL",
}
"""A bucket's children that decide who may write to it. A writer (ALB access logs, CloudFront
standard logs) that starts before them fails: ELB test-writes when logging is enabled, and
CloudFront needs the ACL its log delivery writes through."""

_SEGMENT = re.compile(r'([^.\[\]]+)|\[(\d+|\*|"[^"]*")\]')


def check(run: StackRun) -> list[str]:
    """Every problem the graph rules find, one line each, naming the resource."""
    return [*bucket_writers_wait_for_access(run), *ignore_changes_name_inputs(run)]


def bucket_writers_wait_for_access(run: StackRun) -> list[str]:
    """A resource that depends on a bucket must depend on that bucket's policy, ownership
    controls and ACL too: depending on the bucket waits for the bucket alone, not its children."""
    problems = []
    for bucket in run.of_type(BUCKET):
        access = [r for r in run.resources if r.type in BUCKET_ACCESS and _targets(r, bucket)]
        for user in run.resources:
            if user.type.startswith("aws:s3/") or bucket.urn not in user.dependencies:
                continue
            if _read_only_as_origin(user, bucket):
                continue
            for child in access:
                if not run.depends_on(user, child):
                    problems.append(
                        f"{user.type} '{user.name}' depends on bucket '{bucket.name}' but not on its "
                        f"{BUCKET_ACCESS[child.type]} '{child.name}': a dependency on a bucket does not wait "
                        "for its children, so the first write may be refused; depend on the bucket's "
                        "access resources (LogBucket.ready)"
                    )
    return problems


def _mentions(value: Any, names: set[str]) -> bool:
    if isinstance(value, dict):
        return any(_mentions(v, names) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, names) for v in value)
    return isinstance(value, str) and any(name in value for name in names)


def _read_only_as_origin(user: Resource, bucket: Resource) -> bool:
    """A distribution that names the bucket only in its ``origins`` reads it (through OAC) and
    never writes to it; the bucket's policy, which names the distribution, cannot come first."""
    if user.type != "aws:cloudfront/distribution:Distribution":
        return False
    names = {str(v) for v in (bucket.id, *(bucket.outputs.get(k) for k in ("bucket", "arn"))) if v}
    rest = {k: v for k, v in user.inputs.items() if k != "origins"}
    return _mentions(user.inputs.get("origins"), names) and not _mentions(rest, names)


def _targets(child: Resource, bucket: Resource) -> bool:
    return child.inputs.get("bucket") in {bucket.id, bucket.outputs.get("bucket")}


def ignore_changes_name_inputs(run: StackRun) -> list[str]:
    """Every nested ``ignore_changes`` path names an input the resource sends, and every
    top-level one a property of the resource.

    Pulumi silently skips a path that matches nothing (a snake_case nested path, a typo), so
    the drift it was meant to ignore is "corrected" on the next ``up`` (for example shrinking
    an autoscaled volume, which MSK refuses). A top-level property the program does not set
    (``tags`` changed by someone else) is a legitimate target, so only those are taken on
    the schema's word.
    """
    problems = []
    for r in run.resources:
        for path in r.ignore_changes:
            top_level = _SEGMENT.fullmatch(path) is not None and path in _properties(r.type)
            if not (top_level or _resolves(r.inputs, path)):
                problems.append(
                    f"{r.type} '{r.name}': ignoreChanges path '{path}' names no input of the resource "
                    f"(top-level inputs: {', '.join(sorted(r.inputs)) or 'none'}); Pulumi ignores such a "
                    "path silently, so the change it was meant to ignore is applied. Use the camelCase "
                    "property path, e.g. brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize"
                )
    return problems


@cache
def _properties(type_: str) -> frozenset[str]:
    """The camelCase input properties of a pulumi-aws resource type (empty when unknown)."""
    package, module_path, name = type_.split(":")
    if package != "aws":
        return frozenset()
    try:
        args = getattr(importlib.import_module(f"pulumi_aws.{module_path.split('/')[0]}"), f"{name}Args")
    except (ImportError, AttributeError):
        return frozenset()
    return frozenset(_types.input_type_py_to_pulumi_names(args).values())


def _resolves(value: Any, path: str) -> bool:
    """Whether a Pulumi property path (``a.b[0].c``, ``a["k"]``, ``a[*]``) reaches a value."""
    nodes = [value]
    for name, index in _SEGMENT.findall(path):
        key: Any = name or index.strip('"')
        found: list[Any] = []
        for node in nodes:
            if key == "*" and isinstance(node, (list, dict)):
                found.extend(node if isinstance(node, list) else node.values())
            elif isinstance(node, dict) and key in node:
                found.append(node[key])
            elif isinstance(node, list) and str(key).isdigit() and int(key) < len(node):
                found.append(node[int(key)])
        if not found:
            return False
        nodes = found
    return True
