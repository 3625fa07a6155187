"""``webscale:app``: what the stack configuration says about the app deployment.

Every default is written here once, with the reason for it. Sizes are per process
type, so a stack can give the payment worker more CPU without touching the others.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator

from infra.args import ConfigModel

Platform = Literal["linux/amd64", "linux/arm64"]
PLATFORMS: tuple[Platform, ...] = ("linux/amd64", "linux/arm64")
"""Image platforms EKS's AL2023 node AMIs run: x86_64 and Graviton (arm64)."""

WORKERS = ("payment", "inventory", "notification", "fulfillment")
"""The Kafka consumers; each is its own consumer group (named for the process)."""

_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_CPU = re.compile(r"(\d+(?:\.\d+)?)(m?)")
_MEMORY = re.compile(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?")
_MEMORY_UNITS = {
    None: 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def cpu_millicores(quantity: str) -> Decimal:
    """``"250m"`` -> 250, ``"0.5"`` -> 500, ``"2"`` -> 2000; ValueError otherwise."""
    match = _CPU.fullmatch(quantity)
    if not match:
        raise ValueError(f"{quantity!r} is not a CPU quantity (like 250m or 1)")
    value = Decimal(match[1])
    return value if match[2] else value * 1000


def memory_bytes(quantity: str) -> Decimal:
    """``"256Mi"`` -> 268435456; ValueError for anything Kubernetes would not read as bytes."""
    match = _MEMORY.fullmatch(quantity)
    if not match:
        raise ValueError(f"{quantity!r} is not a memory quantity (like 256Mi or 1Gi)")
    return Decimal(match[1]) * _MEMORY_UNITS[match[2]]


class Quantities(ConfigModel):
    """CPU and memory, as Kubernetes quantities."""

    cpu: str
    """CPU, in cores or millicores (``250m``)."""
    memory: str
    """Memory, in bytes with a binary or decimal suffix (``256Mi``)."""

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: str) -> str:
        if cpu_millicores(value) <= 0:
            raise ValueError("must be more than zero")
        return value

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        if memory_bytes(value) <= 0:
            raise ValueError("must be more than zero")
        return value


class Resources(ConfigModel):
    """A container's requests (what the scheduler reserves) and limits (the ceiling)."""

    requests: Quantities
    """What the scheduler reserves; the HPA's CPU utilization is relative to the CPU request."""
    limits: Quantities
    """The ceiling: CPU above it is throttled, memory above it is OOM-killed."""

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        if cpu_millicores(self.requests.cpu) > cpu_millicores(self.limits.cpu):
            raise ValueError(f"requests.cpu ({self.requests.cpu}) must not exceed limits.cpu ({self.limits.cpu})")
        if memory_bytes(self.requests.memory) > memory_bytes(self.limits.memory):
            raise ValueError(
                f"requests.memory ({self.requests.memory}) must not exceed limits.memory ({self.limits.memory})"
            )
        return self


def _resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> Resources:
    return Resources(requests=Quantities(cpu=cpu, memory=memory), limits=Quantities(cpu=cpu_limit, memory=memory_limit))


class _Scaled(ConfigModel):
    min_replicas: int = Field(default=1, ge=1)
    """Fewest replicas. At least 1: KEDA's CPU trigger cannot scale to zero."""
    max_replicas: int = Field(default=4, ge=1)
    """Most replicas."""
    target_cpu_utilization: int = Field(default=70, ge=10, le=100)
    """Average CPU, in % of the CPU request, above which replicas are added. Default 70:
    headroom for the 15-60 s it takes a new pod to start."""
    resources: Resources = _resources("100m", "128Mi", "500m", "256Mi")
    """Default: requests 100m/128Mi, limits 500m/256Mi."""

    @model_validator(mode="after")
    def _min_within_max(self) -> _Scaled:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) must not exceed maxReplicas ({self.max_replicas})")
        return self


class ApiArgs(_Scaled):
    """The HTTP API: scaled by a HorizontalPodAutoscaler on CPU."""

    min_replicas: int = Field(default=3, ge=1)
    """Fewest replicas. Default 3: one per AZ, so losing an AZ leaves two serving."""
    max_replicas: int = Field(default=12, ge=1)
    """Most replicas the HPA may run. Default 12."""
    scale_down_stabilization_seconds: int = Field(default=300, ge=0, le=3600)
    """The HPA scales down to the highest recommendation of this window. Default 300 s:
    a short dip in traffic does not cost pods that the next peak needs again."""
    resources: Resources = _resources("250m", "256Mi", "500m", "512Mi")
    """Default: requests 250m/256Mi, limits 500m/512Mi: bursts up to twice the request
    before throttling, while the HPA adds pods at 70% of the request."""


class RelayArgs(_Scaled):
    """The outbox relay: scaled by KEDA on CPU (it consumes no topic, so there is no lag)."""

    min_replicas: int = Field(default=1, ge=1)
    """Fewest replicas. Default 1: batches are claimed with SKIP LOCKED, so more replicas
    only add throughput, not availability of data."""
    max_replicas: int = Field(default=3, ge=1)
    """Most replicas. Default 3: every replica polls the primary, so more cost the database."""
    resources: Resources = _resources("100m", "128Mi", "500m", "256Mi")
    """Default: requests 100m/128Mi, limits 500m/256Mi."""


class WorkerArgs(_Scaled):
    """A Kafka consumer: scaled by KEDA on its group's lag, and on CPU."""

    min_replicas: int = Field(default=1, ge=1)
    """Fewest replicas. Default 1: a group with no member builds lag until KEDA notices."""
    max_replicas: int = Field(default=6, ge=1)
    """Most replicas KEDA may run; at most the consumed topic's partitions (a partition
    feeds one member of a group, further members idle). Default 6."""
    lag_threshold: int = Field(default=100, ge=1)
    """Consumer lag (messages) per replica that KEDA aims for. Default 100: above the 64
    records a worker keeps in flight (APP_CONSUMER_CONCURRENCY), which are uncommitted and so
    count as lag even when the worker keeps up."""
    resources: Resources = _resources("100m", "128Mi", "500m", "256Mi")
    """Default: requests 100m/128Mi, limits 500m/256Mi."""


class WorkersArgs(ConfigModel):
    """One entry per worker process type."""

    payment: WorkerArgs = WorkerArgs()
    inventory: WorkerArgs = WorkerArgs()
    notification: WorkerArgs = WorkerArgs()
    fulfillment: WorkerArgs = WorkerArgs()

    def by_name(self) -> dict[str, WorkerArgs]:
        return {name: getattr(self, name) for name in WORKERS}


class JobArgs(ConfigModel):
    """The ``migrate`` and ``topics`` Jobs that run before a new version serves."""

    backoff_limit: int = Field(default=3, ge=0, le=10)
    """Retries before the Job fails (and the rollout with it). Default 3."""
    ttl_seconds_after_finished: int = Field(default=86400, ge=60)
    """How long a finished Job (and its logs) stays. Default one day, time to read them."""
    active_deadline_seconds: int = Field(default=900, ge=60)
    """A Job running longer fails. Default 15 min: a migration that long needs a plan of its own."""
    resources: Resources = _resources("100m", "128Mi", "500m", "256Mi")
    """Default: requests 100m/128Mi, limits 500m/256Mi."""


class EcrArgs(ConfigModel):
    """The image repository's lifecycle."""

    keep_tagged_images: int = Field(default=30, ge=1, le=1000)
    """Tagged images kept; older ones expire. Default 30: room to roll back a month of releases."""
    untagged_expiry_days: int = Field(default=7, ge=1, le=365)
    """Days before an untagged image (a layer of an aborted push) expires. Default 7."""


class AppArgs(ConfigModel):
    """``webscale:app``: the sample app on EKS."""

    image: str | None = None
    """The image to run: a tag of the stack's ECR repository, or a ``sha256:`` digest, never
    ``latest`` (tags are immutable). Default none: the first deploy creates the repository and
    runs nothing (nothing can be pulled from a repository created in the same run); push an
    image to it, then set this. Once set, each deploy checks that ECR holds the image."""
    image_platforms: list[Platform] = Field(default_factory=lambda: list(PLATFORMS), min_length=1)
    """The platforms the image is built for (``docker buildx build --platform``, as in the
    README). Default both linux/amd64 and linux/arm64, so x86 and Graviton nodes can run it;
    the settings check that the nodes' architecture is one of them."""
    namespace: str = Field(default="webscale", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    """The Kubernetes namespace. Default ``webscale``."""
    api: ApiArgs = ApiArgs()
    relay: RelayArgs = RelayArgs()
    workers: WorkersArgs = WorkersArgs()
    jobs: JobArgs = JobArgs()
    ecr: EcrArgs = EcrArgs()
    zone_spread: Literal["ScheduleAnyway", "DoNotSchedule"] = "ScheduleAnyway"
    """``whenUnsatisfiable`` of the spread across AZs. Default ScheduleAnyway: when an AZ
    fails its nodes still count as a domain, and DoNotSchedule would then leave the
    replacement pods Pending in the healthy AZs, exactly when they are needed."""
    pre_stop_seconds: int = Field(default=10, ge=0, le=60)
    """Seconds a stopping API pod keeps serving, so the ALB deregisters it before it stops
    accepting connections. Default 10."""
    termination_grace_seconds: int = Field(default=45, ge=1, le=600)
    """Seconds between SIGTERM and SIGKILL; > preStopSeconds + the app's drain. Default 45."""
    cache_ttl_seconds: int = Field(default=60, ge=1)
    """APP_CACHE_TTL_SECONDS: how long the API caches an order. Default 60."""
    payment_latency_ms: int = Field(default=50, ge=0)
    """APP_PAYMENT_LATENCY_MS: the simulated payment provider's latency. Default 50."""
    payment_failure_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    """APP_PAYMENT_FAILURE_RATE: share of simulated payments declined. Default 0.05."""
    joining_shards: list[str] = Field(default_factory=list)
    """APP_DB_SHARDS_JOINING: database shards (s1, s2, ...) that exist but are not on the app's
    hash ring yet, while `python -m app reshard move` fills them. Default none: every shard is on
    the ring. Emptied once the move is done, which puts the shard on the ring."""

    @field_validator("image")
    @classmethod
    def _pinned_image(cls, image: str | None) -> str | None:
        if image is None:
            return None
        if not image:
            raise ValueError("must name an image tag or a sha256: digest, not be empty")
        if image.lower() == "latest":
            raise ValueError("must not be latest: name an immutable tag or a sha256: digest")
        if not (_DIGEST.fullmatch(image) or (_TAG.fullmatch(image) and not image.startswith("sha256"))):
            raise ValueError("must be an image tag ([A-Za-z0-9_.-], up to 128) or sha256:<64 hex digits>")
        return image

    @model_validator(mode="after")
    def _grace_covers_pre_stop(self) -> AppArgs:
        if self.termination_grace_seconds <= self.pre_stop_seconds:
            raise ValueError(
                f"terminationGraceSeconds ({self.termination_grace_seconds}) must exceed preStopSeconds "
                f"({self.pre_stop_seconds}), or pods are killed before they drain"
            )
        return self

    @property
    def image_is_digest(self) -> bool:
        return bool(self.image and self.image.startswith("sha256:"))

    @property
    def release(self) -> str:
        """A DNS-label-safe name of the release (for Job names): the tag, or the digest's first 12."""
        if self.image is None:
            raise ValueError("webscale:app.image is not set: there is no release to name")
        if self.image_is_digest:
            return self.image.removeprefix("sha256:")[:12]
        return re.sub(r"[^a-z0-9-]+", "-", self.image.lower()).strip("-")[:40] or "release"
