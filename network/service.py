"""The network service as a process holds it: one engine and a store per
resource, no state of its own between calls, so any number of API processes
can each hold one over the same (PostgreSQL) database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from network.bindings import BindingStore
from network.ipam import IpamDriver
from network.ipam_table import TableIpam
from network.networks import NetworkStore
from network.ports import PortStore
from network.routers import RouterStore
from network.schema import open_network_database
from network.security_group_rules import SecurityGroupRuleStore
from network.security_groups import SecurityGroupStore
from network.segments import type_drivers
from network.settings import NetworkSettings
from network.subnets import SubnetStore


@dataclass(frozen=True, slots=True)
class NetworkService:
    engine: Engine
    networks: NetworkStore
    subnets: SubnetStore
    ports: PortStore
    bindings: BindingStore
    security_groups: SecurityGroupStore  # kept and served; not enforced on hosts yet
    security_group_rules: SecurityGroupRuleStore
    routers: RouterStore  # records only: no agent forwards between their subnets

    @classmethod
    def open(cls, url: str, settings: NetworkSettings | None = None,
             ipam: IpamDriver | None = None) -> NetworkService:
        """The service over the database at `url`, its tables created or
        upgraded; DatabaseUnavailable when that fails. IPAM is the free-range
        table's unless another driver is given."""
        settings = settings or NetworkSettings()
        ipam = ipam or TableIpam()
        engine = open_network_database(url)
        ports = PortStore(engine, settings, ipam)
        return cls(engine, NetworkStore(engine, settings, type_drivers(settings), ipam),
                   SubnetStore(engine, ipam), ports, BindingStore(engine, ports),
                   SecurityGroupStore(engine), SecurityGroupRuleStore(engine),
                   RouterStore(engine, ports))

    def close(self) -> None:
        self.engine.dispose()
