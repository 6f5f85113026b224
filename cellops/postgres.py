"""PostgreSQL for the cells of a tree file that run as several processes.

    [tree]
    postgres = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

A cell with `replicas` > 1 (a router's replicas, or a leaf's active process
and standbys) keeps one database that all its processes share, so it needs
PostgreSQL. Given the tree's URL, each such cell without a `database_url` of
its own gets a schema of its own in that database, named after the tree and
the cell (`schema_name`: "replicated_tree_eu_a" for the cell eu-a of the tree
replicated-tree), reached through the URL with `options=-csearch_path=SCHEMA`
(`schema_url`); `cellrouter up` creates it when it is missing
(`ensure_schema`). The environment variable CELLROUTER_PG_URL, when set, is
used instead of the file's URL. The other cells stay on SQLite.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from celldb.engine import create_schema
from celldb.errors import DatabaseUnavailable
from model.config import ConfigError

ENV = "CELLROUTER_PG_URL"
MAX_IDENTIFIER = 63  # PostgreSQL cuts longer names short
_WORD = re.compile(r"[a-z_][a-z0-9_]*")


def tree_url(configured: str, environ: Mapping[str, str], source: str) -> str:
    """The tree's PostgreSQL URL: CELLROUTER_PG_URL when set, else `configured`
    ([tree] postgres); "" for none. ConfigError for one that is not PostgreSQL's
    or that sets `options` (the schema of each cell is set there)."""
    url = environ.get(ENV, "") or configured
    where = ENV if environ.get(ENV) else f"{source}: [tree] postgres"
    if not url:
        return ""
    if not url.startswith("postgresql"):
        raise ConfigError(f"{where} must be a PostgreSQL URL, such as"
                          ' "postgresql+psycopg://USER@HOST:5432/DB", not'
                          f" {_shown(url)!r}")
    if "options" in _query(url, where):
        raise ConfigError(f"{where} must not set options: each cell's schema is set there")
    return url


def schema_name(tree: str, cell: str) -> str:
    """The schema of `cell` of the tree `tree`: both names, lowercase, with
    anything but letters, digits and _ written _. ConfigError when that is no
    plain PostgreSQL name (or too long)."""
    name = re.sub(r"[^a-z0-9_]", "_", f"{tree}_{cell}".lower())
    if not _WORD.fullmatch(name) or len(name) > MAX_IDENTIFIER:
        raise ConfigError(f"the schema for cell {cell} would be {name!r}: set [tree] name to"
                          " a short name of letters, digits and _ that starts with a letter")
    return name


def schema_url(base: str, schema: str) -> str:
    """`base`, its connections using `schema` (libpq's options, URL-encoded)."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def ensure_schema(base: str, schema: str) -> None:
    """Create `schema` in the database of `base` unless it is there. ConfigError,
    the URL's password hidden, when PostgreSQL cannot be reached or refuses."""
    try:
        create_schema(base, schema)
    except DatabaseUnavailable as exc:
        raise ConfigError(f"cannot create the schema {schema} at {_shown(base)} ([tree]"
                          f" postgres, or {ENV}): {exc.message}") from exc


def _query(url: str, where: str) -> Mapping[str, object]:
    try:
        return make_url(url).query
    except ArgumentError as exc:
        raise ConfigError(f"{where} is not a database URL: {exc}") from None


def _shown(url: str) -> str:
    """`url` with its password hidden (or as it is when it is not a URL)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
