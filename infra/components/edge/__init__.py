"""The edge: WAF, CloudFront, a VPC origin and the internal ALB in front of the API."""

from infra.components.edge.args import EdgeArgs
from infra.components.edge.component import Edge

__all__ = ["Edge", "EdgeArgs"]
