"""Prometheus exposition of the spool metrics (optional: needs `prometheus_client`).

Depth and the age of the oldest entry (ship lag) are what to alert on: a growing spool means the
register is unreachable or refuses the client; dead letters mean entries that need a person."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

if TYPE_CHECKING:
    from verwerkingenlog.client.spool import BufferedLogger


class SpoolCollector(Collector):
    def __init__(self, logger: BufferedLogger, prefix: str = "verwerkingenlog_spool") -> None:
        self.logger = logger
        self.prefix = prefix

    def register(self, registry: Any = None) -> None:
        (registry or REGISTRY).register(self)

    def collect(self) -> Iterator[Metric]:
        m = self.logger.metrics()
        p = self.prefix
        yield GaugeMetricFamily(f"{p}_depth", "Entries waiting in the spool.", value=m.depth)
        yield GaugeMetricFamily(f"{p}_bytes", "Bytes of the entries waiting in the spool.", value=m.bytes)
        yield GaugeMetricFamily(
            f"{p}_oldest_age_seconds", "Age of the oldest unshipped entry (ship lag).", value=m.oldest_age_seconds
        )
        yield GaugeMetricFamily(f"{p}_dead_letters", "Entries the register refused.", value=m.dead_letters)
        yield CounterMetricFamily(f"{p}_shipped", "Entries confirmed by the register.", value=m.shipped)
        yield CounterMetricFamily(f"{p}_failed_attempts", "Failed shipping attempts.", value=m.failed_attempts)
