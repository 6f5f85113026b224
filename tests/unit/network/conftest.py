"""The network room's fixtures: a database URL (a fresh SQLite file, and a
fresh PostgreSQL schema where the `postgres` cases run: tests/conftest.py's
`pg_url`) and the service over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from network.service import NetworkService


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'network.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'network.db'}"


@pytest.fixture
def service(sqlite_url: str) -> Iterator[NetworkService]:
    """The service on SQLite (the cases that do not depend on the database)."""
    opened = NetworkService.open(sqlite_url)
    yield opened
    opened.close()


@pytest.fixture
def any_service(db_url: str) -> Iterator[NetworkService]:
    """The service on SQLite and on PostgreSQL."""
    opened = NetworkService.open(db_url)
    yield opened
    opened.close()
