"""Database fixtures shared by the location index tests (SQLite and PostgreSQL).

`url` is parametrised over a fresh SQLite file and a fresh PostgreSQL schema
(`pg_url`, from tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from routing.index import LocationIndex


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgres"],
)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'index.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def opener(url: str) -> Iterator[Callable[..., LocationIndex]]:
    """Opens indexes on `url` (keyword arguments go to LocationIndex.open) and
    closes them all before the schema is dropped."""
    opened: list[LocationIndex] = []

    def open_index(**kw: Any) -> LocationIndex:
        opened.append(LocationIndex.open(url, **kw))
        return opened[-1]

    yield open_index
    for index in opened:
        index.close()


@pytest.fixture
def index(opener: Callable[..., LocationIndex]) -> LocationIndex:
    return opener()


@pytest.fixture
def engines(url: str) -> Iterator[Callable[[Engine], Engine]]:
    """Registers engines a test makes on `url`, disposed before the schema is dropped."""
    made: list[Engine] = []

    def keep(engine: Engine) -> Engine:
        made.append(engine)
        return engine

    yield keep
    for engine in made:
        engine.dispose()
