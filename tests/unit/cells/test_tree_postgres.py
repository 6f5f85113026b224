"""Where a tree file's replicated cells keep their databases: a schema each in
the tree's PostgreSQL (cellops.postgres, cellops.tree), and the errors of a
tree that needs PostgreSQL and was not given it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cellops.postgres import ENV, ensure_schema, schema_name, schema_url, tree_url
from cellops.tree_files import cell_config
from cellops.tree_spec import load_tree
from model.config import ConfigError

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "replicated-tree.toml"
IN_FILE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
OTHER = "postgresql+psycopg://me@db.example:5432/cells"

TREE = """
[tree]
insecure = true
{tree}

[cells.top]
replicas = 2
{top}

[cells.z-1]
parent = "top"
driver = "fake"
replicas = 2
hosts = [{{ name = "h1", vcpus = 8, memory_mb = 8192, disk_gb = 100 }}]

[cells.z2]
parent = "top"
driver = "fake"
hosts = [{{ name = "h2", vcpus = 8, memory_mb = 8192, disk_gb = 100 }}]
"""


def tree_file(tmp_path: Path, tree: str = "", top: str = "") -> Path:
    path = tmp_path / "my-tree.toml"
    path.write_text(TREE.format(tree=tree, top=top))
    return path


def configs(path: Path, environ: dict[str, str]) -> dict[str, str]:
    spec = load_tree(path, environ)
    return {c.name: cell_config(spec, c, "127.0.0.1:1", "", Path("/state") / c.name)
            for c in spec.cells}


def test_the_example_gives_each_replicated_cell_a_schema_named_after_tree_and_cell() -> None:
    spec = load_tree(EXAMPLE, {})
    assert spec.postgres == IN_FILE
    assert spec.schemas() == {"top": "replicated_tree_top", "eu": "replicated_tree_eu",
                              "eu-a": "replicated_tree_eu_a"}  # eu-b runs as one process
    written = configs(EXAMPLE, {})
    assert (f'database_url = "{IN_FILE}?options=-csearch_path%3Dreplicated_tree_eu_a"'
            in written["eu-a"].splitlines())
    assert "active_lock = true" in written["eu-a"].splitlines()  # one acts, one stands by
    assert "database_url" not in written["eu-b"]  # SQLite in its state directory


def test_the_environment_variable_wins_over_the_file() -> None:
    spec = load_tree(EXAMPLE, {ENV: OTHER})
    assert spec.postgres == OTHER
    assert spec.database_url(spec.cells[0]) == (
        f"{OTHER}?options=-csearch_path%3Dreplicated_tree_top")


def test_the_schemas_are_named_after_the_files_name_by_default(tmp_path: Path) -> None:
    spec = load_tree(tree_file(tmp_path), {ENV: OTHER})
    assert spec.schemas() == {"top": "my_tree_top", "z-1": "my_tree_z_1"}


def test_a_cells_own_database_url_is_kept(tmp_path: Path) -> None:
    own = "postgresql+psycopg://me@elsewhere/top"
    written = configs(tree_file(tmp_path, top=f'database_url = "{own}"'), {ENV: OTHER})
    assert f'database_url = "{own}"' in written["top"].splitlines()
    assert written["top"].count("database_url") == 1
    assert "my_tree_z_1" in written["z-1"]


def test_replicas_without_postgresql_are_refused_saying_how_to_give_it(
        tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_tree(tree_file(tmp_path), {})
    message = str(refused.value)
    assert "cell top has replicas = 2 on SQLite" in message
    assert "share one PostgreSQL database" in message
    assert "[tree] postgres" in message and ENV in message and "database_url" in message


@pytest.mark.parametrize(("tree", "environ", "needle"), [
    ('postgres = "sqlite:///x.db"', {}, "[tree] postgres must be a PostgreSQL URL"),
    ("", {ENV: "mysql://me@db/x"}, f"{ENV} must be a PostgreSQL URL"),
    (f'postgres = "{IN_FILE}?options=-cstatement_timeout%3D5"', {}, "must not set options"),
    ('name = "9lives"\npostgres = "postgresql://x@y/z"', {}, "set [tree] name"),
    (f'name = "{"n" * 60}"\npostgres = "postgresql://x@y/z"', {}, "set [tree] name"),
], ids=["not-postgresql", "env-not-postgresql", "own-options", "name-digit", "name-long"])
def test_a_bad_postgres_setting_is_a_config_error_saying_which(
        tmp_path: Path, tree: str, environ: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        load_tree(tree_file(tmp_path, tree=tree), environ)


def test_urls_and_names() -> None:
    assert tree_url("", {}, "f") == ""
    assert tree_url(IN_FILE, {ENV: ""}, "f") == IN_FILE  # an empty variable is unset
    assert schema_name("Replicated-Tree", "eu-a") == "replicated_tree_eu_a"
    assert schema_url(IN_FILE, "s") == f"{IN_FILE}?options=-csearch_path%3Ds"
    assert schema_url(f"{IN_FILE}?connect_timeout=5", "s") == (
        f"{IN_FILE}?connect_timeout=5&options=-csearch_path%3Ds")


def test_an_unreachable_server_is_a_config_error_with_the_password_hidden() -> None:
    with pytest.raises(ConfigError, match="cannot create the schema t_top") as refused:
        ensure_schema("postgresql+psycopg://me:s3cret@127.0.0.1:1/cells", "t_top")
    assert "s3cret" not in str(refused.value) and "127.0.0.1:1" in str(refused.value)
