from infra.components.observability.args import ObservabilityArgs
from infra.components.observability.component import Observability

__all__ = ["Observability", "ObservabilityArgs"]
