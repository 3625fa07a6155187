"""Run the real stack program for a named stack with Pulumi mocks backed by moto.

No cloud account and no Pulumi CLI are needed: this is how every machine here,
and anyone without AWS credentials, exercises the whole program.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import json
import os
import runpy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pulumi
import yaml
from moto import mock_aws
from pulumi.runtime.settings import SETTINGS, get_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

import infra.offline.translators  # noqa: F401  (registers every translator)
from infra.offline import graph_rules
from infra.offline.mocks import OfflineError, OfflineMocks, Progress, RecordingMonitor
from infra.offline.model import StackRun
from infra.offline.registry import forget_clients

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "infra" / "__main__.py"
STACKS = ROOT / "stacks"


def project_name() -> str:
    return str(yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"])


def stack_names(stacks_dir: Path = STACKS) -> list[str]:
    return sorted(p.name.split(".")[1] for p in stacks_dir.glob("Pulumi.*.yaml"))


class UnknownStack(OfflineError):
    """No ``Pulumi.<stack>.yaml`` in the stacks folder; the message lists the stacks that exist."""


def load_stack_config(stack: str, stacks_dir: Path = STACKS) -> dict[str, Any]:
    """The ``config:`` block of ``stacks/Pulumi.<stack>.yaml``."""
    path = stacks_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        names = ", ".join(stack_names(stacks_dir)) or "none"
        raise UnknownStack(
            f"no stack named {stack!r}: there is no {path.name} in {_shown(stacks_dir)}/ (stacks: {names})"
        )
    return dict((yaml.safe_load(path.read_text()) or {}).get("config") or {})


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _encode(value: Any) -> str:
    """Config values reach programs as strings; objects and lists as JSON, like the CLI does."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


@contextmanager
def _fake_aws_environment(region: str) -> Iterator[None]:
    keys = {
        "AWS_ACCESS_KEY_ID": "offline",
        "AWS_SECRET_ACCESS_KEY": "offline",
        "AWS_SESSION_TOKEN": "offline",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_stack(
    stack: str,
    config_overrides: Mapping[str, Any] | None = None,
    program: Path = PROGRAM,
    account: Callable[[], None] | None = None,
    *,
    stacks_dir: Path = STACKS,
    progress: Progress | None = None,
) -> StackRun:
    """Run the stack program for ``stack`` offline and return its resource graph.

    ``config_overrides`` replaces individual config keys (``"webscale:network"``), or removes
    them where the value is None, which tests use to try bad values; ``program`` lets the engine's
    own tests run a small program of theirs instead of the stack's; ``account`` runs inside moto
    before the program, to give the account what an older account already has (a service-linked
    role). Raises :class:`OfflineError` naming every
    resource that moto rejected, or the settings error when the configuration is invalid.
    ``progress`` is called with one line per component as the program creates it.
    """
    merged = {**load_stack_config(stack, stacks_dir), **(config_overrides or {})}
    config = {key: value for key, value in merged.items() if value is not None}
    region = str(config.get("aws:region") or "")
    if not region:
        raise OfflineError(f"{_shown(stacks_dir)}/Pulumi.{stack}.yaml sets no aws:region")
    # A fresh context isolates the Pulumi runtime's globals (root resource, config) per run.
    with _collector_paused():
        return contextvars.Context().run(_run_in_context, stack, config, region, program, account, progress)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection during a run.

    A run allocates a few hundred MB of long-lived objects (moto's backends and service
    models, the SDK's types), so the collector's full passes over them took about half of
    a run's CPU time, while the garbage they found was small. The collector resumes after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _run_in_context(
    stack: str,
    config: dict[str, Any],
    region: str,
    program_path: Path,
    account: Callable[[], None] | None,
    progress: Progress | None,
) -> StackRun:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    options = {
        k.split(":", 1)[1]: json.loads(v) if isinstance(v, str) and v[:1] in "[{" else v
        for k, v in config.items()
        if k.startswith("offline:")
    }
    mocks = OfflineMocks(region, options, progress)
    exports: dict[str, Any] = {}
    forget_clients()
    try:
        # AWS managed policies (AmazonEKSClusterPolicy...) exist in AWS, so they must in moto too.
        with _fake_aws_environment(region), mock_aws(config={"iam": {"load_aws_managed_policies": True}}):
            if account is not None:
                account()
            pulumi.runtime.set_all_config({k: _encode(v) for k, v in config.items()}, [])
            pulumi.runtime.set_mocks(
                mocks, project=project_name(), stack=stack, preview=False, monitor=RecordingMonitor(mocks)
            )
            # Output tasks of an earlier run that failed would otherwise be awaited on a closed loop.
            SETTINGS.outputs.clear()

            def program() -> None:
                runpy.run_path(str(program_path), run_name="__main__")
                exports.update(_sync_await(_resolve_exports(mocks.secrets)))

            try:
                _sync_await(run_pulumi_func(program))
            except OfflineError:
                pass  # reported below with every other rejection
            except Exception:
                if not mocks.errors:
                    raise
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    if mocks.errors:
        raise OfflineError("\n".join(dict.fromkeys(mocks.errors)))
    run = StackRun(
        stack=stack,
        project=project_name(),
        region=region,
        resources=mocks.resources,
        outputs=exports,
        secrets=mocks.secrets,
    )
    problems = graph_rules.check(run)
    if problems:
        raise OfflineError("\n".join(dict.fromkeys(problems)))
    return run


async def _resolve_exports(secrets: set[str]) -> dict[str, Any]:
    root = get_root_resource()
    resolved: dict[str, Any] = {}
    for name, value in getattr(root, "outputs", {}).items():
        output = pulumi.Output.from_input(value)
        resolved[name] = await output.future()
        if await output.is_secret():
            _collect_strings(resolved[name], secrets)
    return resolved


def _collect_strings(value: Any, into: set[str]) -> None:
    if isinstance(value, str):
        into.add(value)
    elif isinstance(value, dict):
        for v in value.values():
            _collect_strings(v, into)
    elif isinstance(value, list):
        for v in value:
            _collect_strings(v, into)
