"""Ports made from two processes at once over one database, one of them
SIGKILLed while it allocates: every address is handed out once, the next
create is the exhaustion error, and the killed process leaks nothing (each
address allocated is a port's, and what is neither is free again).

The processes are plain Python processes over the network service, as two API
processes are; the kill is paced by progress (ports made so far), not by time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Table, func, select

from network import tables
from network.errors import IpAddressGenerationFailure
from network.resources import (
    AllocationPool,
    Caller,
    ListQuery,
    NetworkSpec,
    PortSpec,
    SubnetSpec,
)
from network.service import NetworkService

CALLER = Caller("shop")
POOL = 500  # 10.0.0.10 .. 10.0.1.253 of a /23
WORKER = """
import sys
from network.errors import IpAddressGenerationFailure
from network.resources import Caller, PortSpec
from network.service import NetworkService
service = NetworkService.open(sys.argv[1])
made = 0
while True:
    try:
        service.ports.create(Caller("shop"), PortSpec(network_id=sys.argv[2]))
    except IpAddressGenerationFailure:
        break
    made += 1
print(made, flush=True)
"""
PATIENCE = 300.0  # against a hang only


def _count(service: NetworkService, table: Table) -> int:
    with service.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_two_processes_drain_a_pool_and_a_killed_one_leaks_nothing(db_url: str) -> None:
    service = NetworkService.open(db_url)
    try:
        network = service.networks.create(CALLER, NetworkSpec(name="n"))
        service.subnets.create(CALLER, SubnetSpec(
            network_id=network.id, cidr="10.0.0.0/23", gateway_ip="10.0.0.1",
            allocation_pools=(AllocationPool("10.0.0.10", "10.0.1.253"),)))
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])}
        workers = [subprocess.Popen([sys.executable, "-c", WORKER, db_url, network.id],
                                    stdout=subprocess.PIPE, text=True, env=env)
                   for _ in range(2)]
        deadline = time.monotonic() + PATIENCE
        while _count(service, tables.ports) < POOL // 4:  # progress, then the kill
            assert time.monotonic() < deadline, "the workers made no progress"
            time.sleep(0.01)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(PATIENCE)
        survivor, _ = workers[1].communicate(timeout=PATIENCE)
        assert workers[1].returncode == 0 and int(survivor) > 0
        # The survivor drained what the killed one left: the pool is empty...
        with pytest.raises(IpAddressGenerationFailure):
            service.ports.create(CALLER, PortSpec(network_id=network.id))
        # ...and every address went to exactly one port, none to nobody.
        ports = service.ports.list(CALLER, ListQuery())
        addresses = [ip.ip_address for port in ports for ip in port.fixed_ips]
        assert len(addresses) == len(set(addresses)) == POOL == len(ports)
        assert _count(service, tables.ipam_allocations) == POOL
    finally:
        service.close()
