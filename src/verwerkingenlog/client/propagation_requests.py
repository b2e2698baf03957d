"""Header propagation (§10.2) for `requests`: kept at this path for existing imports; the code lives in
`verwerkingenlog.client.propagation.requests_adapter` (importing it needs `requests`, not a client dependency)."""

from verwerkingenlog.client.propagation.requests_adapter import PropagatingAdapter, propagating_session

__all__ = ["PropagatingAdapter", "propagating_session"]
