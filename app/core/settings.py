"""All configuration, read once from APP_* environment variables."""

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.store.shards import Shard, layout_problems, parse_shards

DEFAULT_SHARD = "s0"
"""The one database's name on the ring when there is no shard map (the infra names shards s0, s1...)."""

COGNITO_ISSUER = re.compile(
    r"https://cognito-idp\.[a-z]{2}(-[a-z]+)+-\d\.amazonaws\.com/[a-z]{2}(-[a-z]+)+-\d_[0-9A-Za-z]+"
)


class Settings(BaseSettings):
    # Errors name the setting and the problem, never echo the input: URLs may carry passwords.
    model_config = SettingsConfigDict(env_prefix="APP_", frozen=True, hide_input_in_errors=True)

    # Database. The writer URL has no default: every process needs the primary.
    db_writer_url: str
    """SQLAlchemy URL of the primary, e.g. postgresql+asyncpg://app@host:5432/orders. With
    APP_DB_SHARDS it may be left out: it is then the home shard's writer (and must be, if set)."""
    db_reader_urls: Annotated[list[str], NoDecode] = []
    """Comma-separated replica URLs. Empty: reads go to the writer. With APP_DB_SHARDS: the home
    shard's replicas (each shard lists its own in the map)."""
    db_shards: str | None = None
    """The shard map, a JSON list of {"name", "writer_url", "reader_urls"?}; the first is the home
    shard (catalogue, stock, sign-in directory). Unset: one shard, "s0", made of
    APP_DB_WRITER_URL and APP_DB_READER_URLS, exactly the one-database deployment."""
    db_shard_check_seconds: float = Field(default=10.0, gt=0)
    """With APP_DB_SHARDS, every process connects to every shard at start and exits naming any
    it cannot reach within this long (a wrong URL fails at deploy, not on the first order)."""
    db_auth: Literal["password", "iam"] = "password"
    """password: credentials in the URL. iam: an RDS IAM token per new connection."""
    db_ssl: Literal["disable", "prefer", "require", "verify-full"] = "prefer"
    """TLS mode for asyncpg. IAM auth raises it to require: RDS rejects tokens over plaintext."""
    db_pool_size: int = 20
    """Connections kept open per process. Above the requests or records usually in flight at
    once: a connection past the pool (overflow) is closed when returned, and reopening it (TLS,
    auth, type introspection, statement cache) costs more than the query."""
    db_max_overflow: int = 10
    """Extra connections for bursts, closed again when returned."""
    db_connect_timeout_seconds: float = 2.0
    db_reader_down_seconds: float = 5.0
    """How long a replica that failed to connect is skipped before it is tried again."""
    db_master_secret_arn: str | None = None
    """Secrets Manager ARN of the master credentials (JSON username/password). Read only by
    bootstrap-db, which creates the app's login; no other process gets it."""
    db_retry_attempts: int = Field(default=3, ge=1)
    """Tries of one write transaction when its connection breaks (a restart or failover ends
    every session at once); 3 with the backoff below rides out a fast restart of about 1 s."""
    db_retry_backoff_ms: int = Field(default=250, ge=0)
    """Wait before the second try, doubled for each further one."""
    db_unavailable_retry_after_seconds: int = Field(default=2, ge=1)
    """The Retry-After a 503 gives when the database is unreachable."""
    aws_region: str | None = None
    """Needed by every IAM mode (token signing is regional)."""

    # Redis cache.
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_auth: Literal["none", "password", "iam"] = "none"
    """password: credentials in the URL. iam: an ElastiCache SigV4 token for the URL's user."""
    redis_replication_group_id: str | None = None
    redis_timeout_seconds: float = 0.2
    """Short on purpose: a slow cache must cost less than the database query it saves."""
    cache_enabled: bool = True
    """False: every read goes to the database (a kill switch, and the benchmark's reference)."""
    cache_ttl_seconds: int = 60
    cache_breaker_seconds: float = 5.0
    """After a Redis error the cache is bypassed for this long, so an outage costs one timeout."""
    cache_lock_ms: int = 2000
    """Lifetime of the Redis lock that lets one pod fill a missing key while others wait."""
    cache_fence_ms: int = 1000
    """After a write invalidates a key, fills are not stored for this long: a fill may have read
    a replica that has not replayed the write yet. Longer than the replicas' usual lag."""

    # Kafka.
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_auth: Literal["plaintext", "tls", "iam"] = "plaintext"
    """plaintext: local only. tls: TLS without client auth (MSK's TLS listener, or a local one).
    iam: SASL/OAUTHBEARER over TLS with MSK IAM tokens."""
    kafka_ssl_cafile: str | None = None
    """CA bundle (PEM) that signs the brokers' certificates, for tls and iam. None: the system's
    trust store, which already trusts MSK's Amazon-issued certificates."""
    kafka_idempotence: bool = True
    """Idempotent producer: no duplicates from retries (needs `acks=all`, which the producer sets)."""
    kafka_request_timeout_ms: int = 10000
    kafka_metadata_max_age_ms: int = Field(default=10000, ge=1000)
    """How often clients refresh cluster metadata (aiokafka's default is 5 min). Bounds how long a
    worker takes to see partitions the topics job added, or a topic deleted and recreated."""
    topic_orders: str = "orders"
    topic_payments: str = "payments"
    topic_inventory: str = "inventory"
    topic_shipments: str = "shipments"
    topic_partitions: int = 6
    topic_replication_factor: int = 3
    topic_min_insync_replicas: int = 2
    topic_retention_ms: int = 7 * 24 * 3600 * 1000
    dlq_retention_ms: int = 14 * 24 * 3600 * 1000
    """Dead letters live longer than events: someone has to look at them."""
    dlq_partitions: int = 1
    """Dead letters are rare and read by people, not by scaled-out consumers: one partition."""
    consumer_group_prefix: str = ""

    # Workers.
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_max_records: int = Field(default=100, ge=1)
    """Records per poll. Bounds how much a batch holds up a rebalance or a SIGTERM."""
    consumer_concurrency: int = Field(default=64, ge=1)
    """Records in flight at once per worker process, one at a time per order key. 64: the payment
    provider's 50 ms latency caps one-at-a-time at 20 events/s; 64 lanes allow ~1,000/s. Each
    in-flight record holds a database connection only while it writes, not while it waits."""
    consumer_offset_reset_policy: Literal["earliest", "latest", "fail"] = "earliest"
    """When a worker's position is outside the partition's log (offset out of range, a topic
    recreated): earliest re-reads (safe, the inbox drops what was applied), latest skips to the
    end (loses events), fail stops the worker for an operator. Always logged and counted."""
    consumer_backoff_base_ms: int = 200
    consumer_backoff_max_ms: int = 5000
    payment_latency_ms: int = 50
    payment_failure_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    notification_failure_rate: float = Field(default=0.0, ge=0.0, le=1.0)

    # Relay.
    relay_batch_size: int = 100
    relay_poll_interval_ms: int = 100
    relay_max_attempts: int = Field(default=10, ge=1)
    relay_delivery_timeout_ms: int = Field(default=30000, ge=100)
    """How long the relay waits for a batch's acknowledgements before leaving its rows in the
    outbox for the next attempt (the idempotent producer itself would retry forever)."""
    """Failed deliveries of one outbox row before it is parked (no longer claimed)."""

    # HTTP.
    host: str = "0.0.0.0"
    port: int = 8000
    metrics_port: int = 9100
    http_loop: Literal["auto", "asyncio", "uvloop"] = "auto"
    """uvicorn's event loop. auto: uvloop when installed (it is, in the image)."""
    http_parser: Literal["auto", "h11", "httptools"] = "auto"
    """uvicorn's HTTP parser. auto: httptools when installed (it is, in the image)."""
    sync_baseline: bool = False
    """Benchmark only: POST /api/orders also runs payment, inventory, notification and
    fulfillment inline before answering (the synchronous "before"). Never in a deployment."""
    read_your_writes_seconds: float = 5.0
    """After a POST the client reads from the primary this long (covers replica lag)."""
    outbox_gauge_interval_seconds: float = 5.0
    serve_web: bool = False
    """Also serve the storefront at / and /static/ (local runs only: in AWS the bucket does)."""
    log_level: str = "INFO"

    # Authentication (API only): Cognito access tokens, checked against the pool's JWKS.
    auth_issuer: str | None = None
    """The user pool's issuer, https://cognito-idp.<region>.amazonaws.com/<pool id>. The API
    refuses to start without it; the other processes do not read it."""
    auth_client_id: str | None = None
    """The app client whose access tokens the API accepts (their `client_id` claim)."""
    auth_jwks_url: str | None = None
    """Where the signing keys are published. Default: <issuer>/.well-known/jwks.json, as Cognito does."""
    auth_leeway_seconds: float = Field(default=10.0, ge=0, le=60)
    """Clock skew tolerated on `exp`/`iat`: small, so an expired token stays expired."""
    auth_jwks_cache_seconds: float = Field(default=3600.0, gt=0)
    """How long the key set is reused. Rotation does not wait for it: an unknown `kid` refetches."""
    auth_jwks_refetch_cooldown_seconds: float = Field(default=30.0, ge=0)
    """At most one refetch per this interval for unknown `kid`s, so forged kids cannot make every
    request hit the JWKS endpoint."""
    auth_local_dev: bool = False
    """Development only: accept an issuer that is not a Cognito pool (a local key pair on
    loopback, app/dev/issuer.py). Never set in a deployment; the infra program refuses it."""

    @field_validator("db_reader_urls", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @model_validator(mode="before")
    @classmethod
    def _writer_from_shards(cls, data: object) -> object:
        """With a shard map, the writer and replica URLs default to the home shard's."""
        if not isinstance(data, dict) or not data.get("db_shards"):
            return data
        home = parse_shards(str(data["db_shards"]))
        if not home:
            raise ValueError("APP_DB_SHARDS: " + "; ".join(layout_problems([])))
        data = dict(data)
        data.setdefault("db_writer_url", home[0].writer_url)
        if not data.get("db_reader_urls"):
            data["db_reader_urls"] = list(home[0].reader_urls)
        return data

    @model_validator(mode="after")
    def _shards_are_consistent(self) -> "Settings":
        shards = self.shard_list()  # raises ShardConfigError (a ValueError) naming each problem
        problems = layout_problems([shard.name for shard in shards])
        if problems:
            raise ValueError("APP_DB_SHARDS: " + "; ".join(problems))
        home = shards[0]
        if self.db_writer_url != home.writer_url:
            raise ValueError(
                f"APP_DB_WRITER_URL is not the writer of the home shard {home.name!r} (the first in APP_DB_SHARDS): "
                "leave it unset or make it the same"
            )
        if self.db_shards and list(home.reader_urls) != self.db_reader_urls:
            raise ValueError(
                f"APP_DB_READER_URLS are not the replicas of the home shard {home.name!r}: leave them unset"
            )
        return self

    @model_validator(mode="after")
    def _sync_baseline_is_one_shard(self) -> "Settings":
        if self.sync_baseline and self.db_shards is not None:
            raise ValueError(
                "APP_SYNC_BASELINE runs every step in one transaction on one database: unset APP_DB_SHARDS"
            )
        return self

    def shard_list(self) -> list[Shard]:
        """The configured shards, home first: APP_DB_SHARDS, else the one database as "s0"."""
        if self.db_shards is None:
            return [Shard(DEFAULT_SHARD, self.db_writer_url, tuple(self.db_reader_urls))]
        return parse_shards(self.db_shards)

    @model_validator(mode="after")
    def _iam_needs_region(self) -> "Settings":
        uses_iam = "iam" in (self.db_auth, self.redis_auth, self.kafka_auth)
        if uses_iam and not self.aws_region:
            raise ValueError("APP_AWS_REGION is required when an IAM auth mode is selected")
        if self.redis_auth == "iam" and not self.redis_replication_group_id:
            raise ValueError("APP_REDIS_REPLICATION_GROUP_ID is required when APP_REDIS_AUTH=iam")
        return self

    @model_validator(mode="after")
    def _issuer_is_cognito(self) -> "Settings":
        if self.auth_issuer is None:
            return self
        loopback = re.fullmatch(r"http://127\.0\.0\.1:\d+", self.auth_issuer)
        if not COGNITO_ISSUER.fullmatch(self.auth_issuer) and not (self.auth_local_dev and loopback):
            raise ValueError(
                "APP_AUTH_ISSUER must be a Cognito user pool issuer (https://cognito-idp.<region>.amazonaws.com/"
                "<pool id>); a local issuer (http://127.0.0.1:<port>) needs APP_AUTH_LOCAL_DEV=true"
            )
        if self.auth_jwks_url and not self.auth_jwks_url.startswith(self.auth_issuer + "/"):
            raise ValueError("APP_AUTH_JWKS_URL must be under APP_AUTH_ISSUER: keys come from the issuer only")
        return self

    @property
    def jwks_url(self) -> str:
        assert self.auth_issuer is not None
        return self.auth_jwks_url or f"{self.auth_issuer}/.well-known/jwks.json"

    def group_id(self, worker: str) -> str:
        return f"{self.consumer_group_prefix}{worker}"

    @property
    def all_topics(self) -> list[str]:
        return [self.topic_orders, self.topic_payments, self.topic_inventory, self.topic_shipments]
