"""A tree file's client port: tls implies tokens unless `[tree] client_auth =
"none"` leaves the top's client port open (cellops.tree), and the configs
the runner writes say the same (cells.config reads them back)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from cellops.tree import TreeRunner
from cellops.tree_files import Security, cell_config
from cellops.tree_spec import load_tree
from cells.config import from_mapping
from model.config import ConfigError

TREE = """
[tree]
{tree}

[cells.top]
[cells.z1]
parent = "top"
driver = "fake"
hosts = [{{ name = "h1", vcpus = 8, memory_mb = 8192, disk_gb = 100 }}]
"""


def load(tmp_path: Path, tree: str) -> tuple[bool, bool, str]:
    path = tmp_path / "tree.toml"
    path.write_text(TREE.format(tree=tree))
    spec = load_tree(path, {})
    return spec.tokens, spec.open_client_port, spec.client_auth


@pytest.mark.parametrize(("tree", "expected"), [
    ("tls = true", (True, False, "token")),
    ("tls = true\ntokens = true", (True, False, "token")),
    ('tls = true\nclient_auth = "none"', (False, True, "none")),
    ("insecure = true", (False, False, "token")),
    ("insecure = true\ntokens = true", (True, False, "token")),
], ids=["tls-implies-tokens", "tls-and-tokens", "tls-open-port", "insecure", "insecure-tokens"])
def test_what_the_top_asks_of_its_clients(tmp_path: Path, tree: str,
                                          expected: tuple[bool, bool, str]) -> None:
    assert load(tmp_path, tree) == expected


@pytest.mark.parametrize(("tree", "message"), [
    ("tls = true\ntokens = false", 'drop tokens = false, or set client_auth = "none"'),
    ('tls = true\ntokens = true\nclient_auth = "none"', "contradicts tokens = true"),
    ('insecure = true\nclient_auth = "none"', "is for a tree with tls = true"),
    ('tls = true\nclient_auth = "open"', 'client_auth must be "token" or "none"'),
    ('tls = true\ntokens = "yes"', "tokens must be true or false"),
], ids=["tls-without-tokens", "none-and-tokens", "none-insecure", "unknown", "not-a-bool"])
def test_a_tree_file_that_would_open_a_port_by_accident_is_refused(
        tmp_path: Path, tree: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load(tmp_path, tree)


def runner_configs(tmp_path: Path, tree: str) -> dict[str, str]:
    """The config the runner writes for each cell (no process started)."""
    path = tmp_path / "tree.toml"
    path.write_text(TREE.format(tree=tree))
    runner = TreeRunner(load_tree(path, {}), tmp_path / "state")
    runner._assign_ports()
    for cell in runner.spec.cells:
        runner._write_config(cell, cell.name)
    return {c.name: (runner.state_dir / c.name / "cell.toml").read_text()
            for c in runner.spec.cells}


def test_a_tls_tree_writes_tokens_into_the_tops_config(tmp_path: Path) -> None:
    written = runner_configs(tmp_path, "tls = true")
    top = from_mapping(tomllib.loads(written["top"]))
    assert top.client_listen and top.tokens_file is not None and top.client_auth == "token"
    assert not from_mapping(tomllib.loads(written["z1"])).client_listen


def test_an_open_tree_writes_client_auth_none_into_the_tops_config_only(tmp_path: Path) -> None:
    written = runner_configs(tmp_path, 'tls = true\nclient_auth = "none"')
    top = from_mapping(tomllib.loads(written["top"]))
    assert top.client_listen and top.tokens_file is None and top.client_auth == "none"
    assert from_mapping(tomllib.loads(written["z1"])).client_auth == "token"


def test_a_cells_own_client_auth_key_is_refused_the_tree_decides(tmp_path: Path) -> None:
    path = tmp_path / "tree.toml"
    path.write_text(TREE.format(tree="tls = true").replace(
        "[cells.top]", '[cells.top]\nclient_auth = "none"'))
    spec = load_tree(path, {})
    with pytest.raises(ConfigError, match="unknown keys client_auth"):
        cell_config(spec, spec.top, "127.0.0.1:1", "", tmp_path / "top",
                    Security(certs=tmp_path, client_listen="127.0.0.1:2",
                             tokens_file=tmp_path / "tokens.json"))
