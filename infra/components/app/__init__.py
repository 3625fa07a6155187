"""The sample app on EKS: see :class:`AppDeployment`."""

from infra.components.app.args import AppArgs
from infra.components.app.deployment import AppDeployment

__all__ = ["AppArgs", "AppDeployment"]
