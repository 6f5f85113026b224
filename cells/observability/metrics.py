"""Prometheus metrics of one cell, served on `metrics_listen` at /metrics.

    cellrouter_requests_total{method, code}      every RPC the cell answered
    cellrouter_request_seconds{method}           how long it took (a histogram)
    cellrouter_index_cache_{hits,misses}_total   location lookups from memory or not
    cellrouter_index_cache_hit_ratio
    cellrouter_index_rows                        locations in the cell's database
    cellrouter_children{status}                  routers: children up and down
    cellrouter_capacity_{total,used}{resource}   the subtree's capacity (vcpus, memory_mb, disk_gb)
    cellrouter_instances
    cellrouter_notifications_outbox_rows         leaves with notifications on: events waiting
    cellrouter_notifications_outbox_bound        ...the most the outbox keeps (max_outbox)
    cellrouter_notifications_written_total       ...events written to it
    cellrouter_notifications_refused_total       ...events refused, the outbox full
    cellrouter_notifications_sent_total          ...events the broker confirmed
    cellrouter_notifications_bus_up              ...1 while connected to the broker
    cellrouter_process{cell, replica}            1: this process, its cell and its own
                                                 address (replicas of a cell share the
                                                 cell's name; join on it to tell them apart)

Each cell has its own registry, so that cells embedded in one process do not
mix their figures. Request figures are taken by a server interceptor; the
rest is read from the cell when Prometheus scrapes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from cells.backend import CellBackend
from cells.edge.interceptors import Behaviour, UnaryInterceptor
from notify.amqp import SenderStats
from notify.outbox import OutboxStats
from routing.index import LocationIndex

# Routed calls take a few milliseconds; slow ones wait for a hypervisor.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass(frozen=True, slots=True)
class NotifyFigures:
    """A leaf's notification outbox and sender, as last seen."""

    outbox: OutboxStats
    sender: SenderStats | None


Figures = Callable[[], NotifyFigures | None]


class CellMetrics:
    def __init__(self, index: LocationIndex, backend: Callable[[], CellBackend | None],
                 notifications: Figures = lambda: None) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter("cellrouter_requests", "RPCs answered, by method and code",
                                 ["method", "code"], registry=self.registry)
        self._latency = Histogram("cellrouter_request_seconds", "Time to answer an RPC",
                                  ["method"], buckets=_BUCKETS, registry=self.registry)
        self.registry.register(_StateCollector(index, backend))
        self.registry.register(_NotifyCollector(notifications))
        self._http: Any = None

    def observe(self, method: str, code: str, seconds: float) -> None:
        self._requests.labels(method, code).inc()
        self._latency.labels(method).observe(seconds)

    def interceptor(self) -> grpc.aio.ServerInterceptor[Any, Any]:
        return _Interceptor(self)

    def serve(self, address: str) -> int:
        """Serve /metrics on HOST:PORT (port 0: a free one); returns the port."""
        host, _, port = address.rpartition(":")
        self._http, _thread = start_http_server(int(port), host, registry=self.registry)
        return int(self._http.server_port)

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()


class _Interceptor(UnaryInterceptor):
    def __init__(self, metrics: CellMetrics) -> None:
        self._metrics = metrics

    def wrap(self, method: str, inner: Behaviour) -> Behaviour:
        name, observe = method.rsplit("/", 1)[-1], self._metrics.observe

        async def timed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            start, code = time.perf_counter(), "OK"
            try:
                return await inner(request, context)
            except BaseException:
                status = context.code()
                code = status.name if isinstance(status, grpc.StatusCode) else "UNKNOWN"
                raise
            finally:
                observe(name, code, time.perf_counter() - start)

        return timed


class _StateCollector(Collector):
    """Figures read from the cell at scrape time."""

    def __init__(self, index: LocationIndex, backend: Callable[[], CellBackend | None]) -> None:
        self._index = index
        self._backend = backend

    def collect(self) -> Iterator[Metric]:
        stats = self._index.cache_stats()
        yield CounterMetricFamily("cellrouter_index_cache_hits", "Lookups answered from memory",
                                  value=stats.hits)
        yield CounterMetricFamily("cellrouter_index_cache_misses",
                                  "Lookups that went to the database", value=stats.misses)
        looked = stats.hits + stats.misses
        yield GaugeMetricFamily("cellrouter_index_cache_hit_ratio",
                                "Share of lookups answered from memory",
                                value=stats.hits / looked if looked else 0.0)
        yield GaugeMetricFamily("cellrouter_index_rows", "Locations in the cell's database",
                                value=self._index.count())
        backend = self._backend()
        if backend is None:
            return
        me = GaugeMetricFamily("cellrouter_process", "This process: its cell, and its own"
                               " address among the cell's replicas", labels=["cell", "replica"])
        me.add_metric([backend.identity.name, backend.identity.address], 1)
        yield me
        yield from _capacity(backend)
        children = getattr(backend, "children", None)
        if children is not None:
            up = sum(1 for c in children if children.is_up(c))
            family = GaugeMetricFamily("cellrouter_children", "Child cells by status",
                                       labels=["status"])
            family.add_metric(["up"], up)
            family.add_metric(["down"], len(children) - up)
            yield family


class _NotifyCollector(Collector):
    def __init__(self, figures: Figures) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        seen = self._figures()
        if seen is None:
            return
        box, sender = seen.outbox, seen.sender
        name = "cellrouter_notifications"
        yield GaugeMetricFamily(f"{name}_outbox_rows", "Events waiting in the outbox",
                                value=box.rows)
        yield GaugeMetricFamily(f"{name}_outbox_bound", "The most events the outbox keeps",
                                value=box.bound)
        yield CounterMetricFamily(f"{name}_written", "Events written to the outbox",
                                  value=box.written)
        yield CounterMetricFamily(f"{name}_refused", "Events refused, the outbox full",
                                  value=box.refused)
        yield CounterMetricFamily(f"{name}_sent", "Events the broker confirmed",
                                  value=sender.sent if sender else 0)
        yield GaugeMetricFamily(f"{name}_bus_up", "1 while connected to the broker",
                                value=1 if sender and sender.connected else 0)


def _capacity(backend: CellBackend) -> Iterator[Metric]:
    capacity = backend.capacity()
    for kind, amount in (("total", capacity.total), ("used", capacity.used)):
        family = GaugeMetricFamily(f"cellrouter_capacity_{kind}",
                                   f"The subtree's {kind} capacity", labels=["resource"])
        for resource in ("vcpus", "memory_mb", "disk_gb"):
            family.add_metric([resource], getattr(amount, resource))
        yield family
    yield GaugeMetricFamily("cellrouter_instances", "Instances in the subtree",
                            value=capacity.instances)
