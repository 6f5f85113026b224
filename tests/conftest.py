"""Fixtures for every test: a PostgreSQL schema of one's own.

The PostgreSQL cases use the server named by CELLROUTER_TEST_PG_URL, each in a
schema of its own that is dropped afterwards. Without it they skip, or fail
when CELLROUTER_REQUIRE_POSTGRES=1 (as in CI).
"""

from __future__ import annotations

import os
import uuid as uuidlib
from collections.abc import Callable, Iterator
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError


def unavailable(reason: str) -> NoReturn:
    """Skip for want of PostgreSQL, or fail when CELLROUTER_REQUIRE_POSTGRES=1."""
    if os.environ.get("CELLROUTER_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason} (CELLROUTER_REQUIRE_POSTGRES=1)")
    pytest.skip(reason)


@pytest.fixture
def pg_schemas() -> Iterator[Callable[[], str]]:
    """Makes URLs whose connections each use a fresh schema, all dropped afterwards
    (one per cell, for a tree whose cells keep their indexes in PostgreSQL)."""
    yield from _schemas()


@pytest.fixture(scope="module")
def pg_schemas_module() -> Iterator[Callable[[], str]]:
    """`pg_schemas` for a tree that a whole module shares."""
    yield from _schemas()


def _schemas() -> Iterator[Callable[[], str]]:
    base = os.environ.get("CELLROUTER_TEST_PG_URL", "")
    if not base:
        unavailable("CELLROUTER_TEST_PG_URL is not set; PostgreSQL tests need a server")
    try:
        admin = create_engine(base, connect_args={"connect_timeout": 5})
    except (SQLAlchemyError, ImportError) as exc:
        unavailable(f"bad CELLROUTER_TEST_PG_URL: {exc}")
    made: list[str] = []

    def schema_url() -> str:
        schema = f"t_{uuidlib.uuid4().hex[:12]}"
        try:
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
        except SQLAlchemyError as exc:
            unavailable(f"cannot reach PostgreSQL at CELLROUTER_TEST_PG_URL: {exc}")
        made.append(schema)
        sep = "&" if "?" in base else "?"
        return f"{base}{sep}options=-csearch_path%3D{schema}"

    try:
        yield schema_url
    finally:
        with admin.begin() as conn:
            for schema in made:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def pg_url(pg_schemas: Callable[[], str]) -> str:
    """A URL whose connections use a fresh schema, dropped afterwards."""
    return pg_schemas()
