"""Database fixtures shared by the location index tests (SQLite and PostgreSQL).

`url` is parametrised over a fresh SQLite file and a fresh PostgreSQL schema.
The PostgreSQL cases use the server named by CELLROUTER_TEST_PG_URL, each in a
schema of its own that is dropped afterwards. Without it they skip, or fail
when CELLROUTER_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import os
import uuid as uuidlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from routing.index import LocationIndex


def unavailable(reason: str) -> NoReturn:
    """Skip for want of PostgreSQL, or fail when CELLROUTER_REQUIRE_POSTGRES=1."""
    if os.environ.get("CELLROUTER_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason} (CELLROUTER_REQUIRE_POSTGRES=1)")
    pytest.skip(reason)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose connections use a fresh schema, dropped afterwards."""
    base = os.environ.get("CELLROUTER_TEST_PG_URL", "")
    if not base:
        unavailable("CELLROUTER_TEST_PG_URL is not set; PostgreSQL tests need a server")
    schema = f"t_{uuidlib.uuid4().hex[:12]}"
    try:
        admin = create_engine(base, connect_args={"connect_timeout": 5})
    except (SQLAlchemyError, ImportError) as exc:
        unavailable(f"bad CELLROUTER_TEST_PG_URL: {exc}")
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except SQLAlchemyError as exc:
        admin.dispose()
        unavailable(f"cannot reach PostgreSQL at CELLROUTER_TEST_PG_URL: {exc}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


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
