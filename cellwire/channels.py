"""gRPC channels to a cell, made in one place for every client
(`cellwire.client`, `cellwire.agents`): blocking or asyncio, plaintext or
TLS, the replicas of a cell balanced over, and the options every channel has.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import grpc
import grpc.aio

from cellwire.tls import Tls

Options = list[tuple[str, Any]]

# Every channel: room for large lists, and a ping every 30 s while calls are
# open, so a peer that vanished is noticed.
CHANNEL_OPTIONS: Options = [
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
]
_REPLICAS_CONFIG = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})


def split_addresses(address: str) -> list[str]:
    """The addresses in `address`: one HOST:PORT, or several joined with commas."""
    return [a.strip() for a in address.split(",") if a.strip()]


def reconnect_options(max_backoff: float) -> Options:
    """Options that bring a restarted cell back within `max_backoff` seconds.

    After a failed connection gRPC waits before trying again, and calls fail
    at once meanwhile; its default wait grows to two minutes. A restarted cell
    must be reachable again within a report interval."""
    backoff_ms = max(100, int(max_backoff * 1000))
    return [
        ("grpc.initial_reconnect_backoff_ms", min(100, backoff_ms)),
        ("grpc.min_reconnect_backoff_ms", min(100, backoff_ms)),
        ("grpc.max_reconnect_backoff_ms", backoff_ms),
    ]


def channel(address: str, *, tls: Tls | None = None, ca: bytes | None = None,
            peer_name: str = "", options: Sequence[tuple[str, Any]] = ()) -> grpc.Channel:
    """A blocking channel to `address`; see `aio_channel`."""
    target, every, credentials = _prepare(address, tls, ca, peer_name, options)
    if credentials is None:
        return grpc.insecure_channel(target, options=every)
    return grpc.secure_channel(target, credentials, options=every)


def aio_channel(address: str, *, tls: Tls | None = None, ca: bytes | None = None,
                peer_name: str = "", options: Sequence[tuple[str, Any]] = ()) -> grpc.aio.Channel:
    """An asyncio channel to `address` (HOST:PORT, or a cell's replicas joined
    with commas). With `tls` it is mutual TLS (this side shows its
    certificate); with `ca` only, server TLS trusting `ca`; with neither,
    plaintext. Under TLS the peer's certificate must name `peer_name` when one
    is given, whatever address it is reached at. `options` add to
    CHANNEL_OPTIONS."""
    target, every, credentials = _prepare(address, tls, ca, peer_name, options)
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=every)
    return grpc.aio.secure_channel(target, credentials, options=every)


def _prepare(address: str, tls: Tls | None, ca: bytes | None, peer_name: str,
             options: Sequence[tuple[str, Any]],
             ) -> tuple[str, Options, grpc.ChannelCredentials | None]:
    """gRPC's target, the channel's options and its credentials (None: plaintext)."""
    target, balancing = _target(address)
    every = [*CHANNEL_OPTIONS, *balancing, *options]
    if tls is None and ca is None:
        return target, every, None
    if peer_name:
        every.append(("grpc.ssl_target_name_override", peer_name))
    credentials = tls.channel() if tls is not None else grpc.ssl_channel_credentials(ca)
    return target, every, credentials


def _target(address: str) -> tuple[str, Options]:
    """gRPC's target and options for `address`. Several addresses (the replicas
    of a cell, as IP:PORT) make one channel that balances calls over them, round
    robin, skipping any that does not answer."""
    parts = split_addresses(address)
    if len(parts) <= 1:
        return address, []
    scheme = "ipv6" if parts[0].startswith("[") else "ipv4"
    return f"{scheme}:{','.join(parts)}", [("grpc.service_config", _REPLICAS_CONFIG)]
