"""The API database's ordered schema steps (celldb's machinery, its own
sequence, version table and upgrade lock). Append, never edit: an API must
start on any database an earlier release wrote."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from api.db import tables
from celldb.engine import open_database
from celldb.schema import SchemaSteps


def _v1(conn: Connection) -> None:
    """Keypairs, server keys, flavors with extra specs and access, quotas.
    The current shapes are this step's (nothing has changed since); a later
    step that changes a table freezes this step's copy first."""
    first = [tables.keypairs, tables.server_keys, tables.flavors, tables.flavor_extra_specs,
             tables.flavor_projects, tables.quota_limits, tables.quota_locks,
             tables.quota_reservations]
    tables.metadata.create_all(conn, tables=first)


def _v2(conn: Connection) -> None:
    """Host aggregates with their hosts and metadata; quota classes."""
    second = [tables.aggregates, tables.aggregate_hosts, tables.aggregate_metadata,
              tables.quota_classes]
    tables.metadata.create_all(conn, tables=second)


def _v3(conn: Connection) -> None:
    """Server groups and their members."""
    tables.metadata.create_all(conn, tables=[tables.server_groups, tables.server_group_members])


def _v4(conn: Connection) -> None:
    """Tokens revoked before they expire, by audit id (api.identity.revocation)."""
    tables.metadata.create_all(conn, tables=[tables.revoked_tokens])


def _v5(conn: Connection) -> None:
    """Images created through the image API, their properties and tags."""
    tables.metadata.create_all(
        conn, tables=[tables.images, tables.image_properties, tables.image_tags])


def _v6(conn: Connection) -> None:
    """Web hook subscriptions and their deliveries outbox (api.hooks)."""
    tables.metadata.create_all(conn, tables=[tables.hook_subscriptions, tables.hook_deliveries])


# Any constant, unlike the cells' (celldb.schema): upgrades of the two
# databases never wait for each other.
_UPGRADE_LOCK = 0x61706964
API = SchemaSteps(tables.schema_version, [_v1, _v2, _v3, _v4, _v5, _v6], _UPGRADE_LOCK)


def open_api_database(url: str) -> Engine:
    """The API database at `url`, created or upgraded; DatabaseUnavailable when
    it cannot be."""
    return open_database(url, API)
