"""The room's tables beside the API's in one database, each sequence with a
version table of its own; opening again (another process) changes nothing."""

from __future__ import annotations

from sqlalchemy import inspect, select

from api.db.schema import open_api_database
from network import tables
from network.schema import NETWORK, open_network_database


def test_the_network_steps_share_the_api_database(db_url: str) -> None:
    api = open_api_database(db_url)
    first, second = open_network_database(db_url), open_network_database(db_url)
    try:
        names = set(inspect(first).get_table_names())
        assert {"cellrouter_api_schema", "cellrouter_network_schema", "keypairs", "networks",
                "ipam_free"} <= names
        with first.connect() as conn:
            versions = conn.execute(select(tables.schema_version.c.version)).scalars().all()
        assert versions == [NETWORK.version]
    finally:
        for engine in (api, first, second):
            engine.dispose()
