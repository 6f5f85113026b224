"""The API database's schema: its own steps and version table through celldb's
machinery, apart from the cells' sequence."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, select

from api.db.schema import API, open_api_database
from api.db.tables import schema_version
from celldb.engine import open_database
from celldb.schema import SCHEMA_VERSION


def test_the_api_database_is_created_at_its_version_and_reopened_unchanged(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    for _ in range(2):
        engine = open_api_database(url)
        with engine.connect() as conn:
            assert list(conn.execute(select(schema_version.c.version)).scalars()) == [
                API.version]
        engine.dispose()
    assert {"keypairs", "flavors", "quota_limits", "quota_reservations"} <= set(
        inspect(open_api_database(url)).get_table_names())


def test_the_cells_and_the_api_sequences_can_share_one_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    cells, api = open_database(url), open_api_database(url)
    tables = set(inspect(api).get_table_names())
    assert {"locations", "cellrouter_schema", "keypairs", "cellrouter_api_schema"} <= tables
    with cells.connect() as conn:
        assert conn.exec_driver_sql("SELECT version FROM cellrouter_schema").scalar() == (
            SCHEMA_VERSION)
    cells.dispose()
    api.dispose()
