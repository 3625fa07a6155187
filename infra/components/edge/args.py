"""``webscale:edge``: the ALB, CloudFront and WAF settings, with their defaults and why."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from infra.args import ConfigModel

PriceClass = Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"]
Algorithm = Literal["round_robin", "least_outstanding_requests"]

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class EdgeArgs(ConfigModel):
    """``<project>:edge`` in the stack configuration."""

    price_class: PriceClass = "PriceClass_100"
    """CloudFront edge locations to serve from: ``PriceClass_100`` (default: North America and
    Europe, the cheapest), ``PriceClass_200`` or ``PriceClass_All`` (every location, lowest latency
    worldwide)."""
    load_balancing_algorithm: Algorithm = "least_outstanding_requests"
    """How the ALB picks an API pod: ``least_outstanding_requests`` (default: a pod busy with slow
    requests gets fewer new ones, which suits an API whose requests vary in cost) or ``round_robin``."""
    deregistration_delay_seconds: int = Field(default=30, ge=0, le=3600)
    """Seconds the ALB keeps sending in-flight requests to a pod it is deregistering. Default 30: it
    must stay below the API pods' ``terminationGracePeriodSeconds`` (set it to 45 or more) so a
    pod that is shutting down finishes its in-flight requests before it is killed."""
    deletion_protection: bool = True
    """ALB deletion protection. Default on (safe); dev turns it off to stay disposable."""
    log_expiry_days: int = Field(default=90, ge=1)
    """Days to keep ALB access logs and CloudFront standard logs before S3 expires them. Default 90."""
    rate_limit: int = Field(default=2000, ge=10, le=2_000_000_000)
    """Requests one client IP may make per ``rateLimitWindowSeconds`` before the WAF blocks it
    (WAF's minimum is 10). Default 2000 per 5 minutes: far above a human, well below a script that
    would starve the API for everyone else."""
    rate_limit_per_token: int = Field(default=1000, ge=10, le=2_000_000_000)
    """Requests one signed-in client (one ``Authorization`` header value) may make per
    ``rateLimitWindowSeconds``, on top of the per-IP limit. Default 1000 per 5 minutes: many users
    share an office or mobile carrier IP, but one token is one client, so it gets a tighter limit."""
    rate_limit_window_seconds: Literal[60, 120, 300, 600] = 300
    """The WAF rate rule's evaluation window, in seconds (60, 120, 300 or 600). Default 300."""
    domain_name: str | None = None
    """Custom domain for the site (``shop.example.com``). Default none: CloudFront's own
    ``*.cloudfront.net`` name and certificate, and plain HTTP from CloudFront to the internal ALB."""
    hosted_zone_id: str | None = None
    """The Route 53 public hosted zone of ``domainName``, where certificate validation and alias
    records go. Required with ``domainName``."""

    @field_validator("domain_name")
    @classmethod
    def _hostname(cls, name: str | None) -> str | None:
        if name is not None and not _HOSTNAME.match(name):
            raise ValueError("must be a lowercase DNS name such as shop.example.com")
        return name

    @model_validator(mode="after")
    def _domain_needs_zone(self) -> EdgeArgs:
        if (self.domain_name is None) != (self.hosted_zone_id is None):
            raise ValueError("domainName and hostedZoneId must be set together (the zone validates the certificates)")
        return self

    @property
    def origin_domain_name(self) -> str | None:
        """The name the ALB's certificate covers and CloudFront sends as SNI and Host."""
        return f"origin.{self.domain_name}" if self.domain_name else None
