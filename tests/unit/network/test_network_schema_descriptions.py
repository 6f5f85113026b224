"""Schema step 4 (descriptions, a subnet's host routes) on a database an
earlier release wrote: its networks, subnets and ports are kept, with an
empty description and no routes, and take the new attributes from then on."""

from __future__ import annotations

from sqlalchemy import insert

from celldb.engine import engine_for
from celldb.schema import upgrade_to
from network import frozen
from network.resources import Caller, Changes, HostRoute, ListQuery
from network.schema import NETWORK
from network.service import NetworkService

SHOP = Caller("shop")


def test_rows_of_before_step_4_are_read_and_changed(db_url: str) -> None:
    engine = engine_for(db_url)
    try:
        upgrade_to(engine, 3, NETWORK)
        with engine.begin() as conn:
            conn.execute(insert(frozen.networks).values(
                id="n1", name="old", project="shop", shared=False, admin_state_up=True,
                type="vlan", physical_network="physnet1", segmentation_id=7, status="ACTIVE",
                created_at=1.0, updated_at=1.0))
            conn.execute(insert(frozen.subnets).values(
                id="s1", network_id="n1", name="", project="shop", cidr="10.0.0.0/24",
                ip_version=4, gateway_ip="10.0.0.1", allocation_pools='[["10.0.0.2",'
                ' "10.0.0.254"]]', dns_nameservers="[]", enable_dhcp=True, created_at=1.0,
                updated_at=1.0))
    finally:
        engine.dispose()
    service = NetworkService.open(db_url)
    try:
        [network] = service.networks.list(SHOP, ListQuery())
        subnet = service.subnets.show(SHOP, "s1")
        assert (network.description, subnet.description, subnet.host_routes) == ("", "", ())
        route = HostRoute("10.20.0.0/24", "10.0.0.9")
        changed = service.subnets.update(SHOP, "s1", Changes({"host_routes": (route,),
                                                             "description": "now"}))
        assert (changed.host_routes, changed.description) == ((route,), "now")
    finally:
        service.close()
