"""The config file of each cell of a tree, as `TreeRunner` (cellops.tree) writes
it from the tree's spec (cellops.tree_spec): the tree decides the security keys
and each router's children; a cell's own keys go where cells.config reads them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cellops.fake_engine import ENGINE_KEYS
from cellops.toml_out import q, toml_value
from cellops.tree_spec import CellSpec, TreeSpec
from cells.config import CELL_KEYS
from model.config import ConfigError
from notify.config import (
    DEFAULT_URL,
    WHEN_REACHABLE,
    NotifyConfig,
    as_toml_table,
    from_table,
    reachable,
)

# [cell] keys the tree decides, never a cell's table (see cell_config).
_SECURITY_KEYS = {"insecure", "client_listen", "client_auth", "parent_name", "children"}
_CELL_KEYS = CELL_KEYS - _SECURITY_KEYS  # a cell's own keys that go into [cell]
_TABLES = {"selection", "limits", "agents"}  # a cell's tables that go into its config as they are


@dataclass(frozen=True, slots=True)
class Security:
    """What a cell's config says about TLS and tokens."""

    certs: Path | None = None      # the tree's CA directory; None: insecure
    parent_name: str = ""
    client_listen: str = ""
    tokens_file: Path | None = None
    open_client_port: bool = False  # client_auth = "none": client_listen without tokens


def notifications(spec: TreeSpec) -> tuple[NotifyConfig, str]:
    """What the tree's cells (and its API) are given of its [notifications] (a
    "when-reachable" decided now, by asking the broker), and a line saying so."""
    table = dict(spec.notifications)
    wanted = table.get("enabled", False)
    if wanted == WHEN_REACHABLE:
        table["enabled"] = reachable(str(table.get("url", DEFAULT_URL)))
    config = from_table(table, "tree")
    where = f"exchange {config.exchange} at {config.shown_url}"
    if config.enabled:
        return config, (f"notifications: on, every cell sends its events to {where}"
                        f"{' (the API follows them)' if spec.api is not None else ''}")
    if wanted == WHEN_REACHABLE:
        return config, (f"notifications: off (RabbitMQ does not answer at {config.shown_url};"
                        " the tree file turns them on when it does)")
    return config, "notifications: off"


def cell_config(spec: TreeSpec, cell: CellSpec, address: str, parent: str,
                state_dir: Path, security: Security = Security(),
                engine: Mapping[str, Any] | None = None,
                notify: NotifyConfig | None = None) -> str:
    """The TOML config of one cell of the tree; `engine`: the driver options
    that reach the fake oVirt engine started for it (cellops.fake_engine);
    `notify`: the cell's [notifications] (see `notifications`): a leaf's
    events, and a router's of its children found down or up."""
    lines = _cell_lines(spec, cell, address, parent, state_dir, security)
    # Keys of the [cell] table go there, `selection` into [selection]; a
    # leaf's other keys are driver options.
    # (The tree decides the security keys; a driver may have its own of the
    # same name, as oVirt's `insecure`.)
    options = {k: v for k, v in cell.extra.items()
               if k not in _CELL_KEYS and k not in _TABLES and k not in ENGINE_KEYS}
    options |= engine or {}
    if not cell.driver:
        lines.append(f"selector = {q(cell.selector)}")
        if options:
            raise ConfigError(f"cell {cell.name}: unknown keys {', '.join(sorted(options))}")
    lines += _table_lines(spec, cell) + _credential_lines(cell, security)
    lines += _catalog_lines(spec, cell)
    if notify is not None and notify.enabled:
        lines += ["", "[notifications]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in as_toml_table(notify).items()]
    if cell.driver:
        lines += _leaf_lines(cell, options, state_dir)
    return "\n".join(lines) + "\n"


def _cell_lines(spec: TreeSpec, cell: CellSpec, address: str, parent: str,
                state_dir: Path, security: Security) -> list[str]:
    """The [cell] table."""
    lines = [
        "[cell]",
        f"name = {q(cell.name)}",
        f"listen = {q(address)}",
        f"state_dir = {q(str(state_dir))}",
        f"report_interval = {spec.report_interval}",
        f"down_after = {spec.down_after}",
    ]
    if parent:
        lines.append(f"parent = {q(parent)}")
    lines += _security_lines(security)
    if not cell.driver:  # a router admits exactly its children of the tree
        below = [c.name for c in spec.cells if c.parent == cell.name]
        lines.append(f"children = {toml_value(below)}")
    if cell.driver and cell.replicas > 1:
        lines.append("active_lock = true")  # one acts, the others stand by (cells.standby)
    lines += [f"{k} = {toml_value(v)}" for k, v in cell.extra.items() if k in _CELL_KEYS]
    if cell.name in spec.schemas():
        lines.append(f"database_url = {q(spec.database_url(cell))}")
    return lines


def _security_lines(security: Security) -> list[str]:
    lines = [] if security.certs is not None else ["insecure = true"]
    if security.parent_name:
        lines.append(f"parent_name = {q(security.parent_name)}")
    if security.client_listen:
        lines.append(f"client_listen = {q(security.client_listen)}")
        if security.open_client_port:
            lines.append('client_auth = "none"')
    return lines


def _table_lines(spec: TreeSpec, cell: CellSpec) -> list[str]:
    """The cell's own [selection], [limits] and [agents], the last admitting
    the agents the tree gives a leaf."""
    tables = {table: dict(cell.extra[table]) for table in _TABLES & set(cell.extra)}
    agent_ids = [a.id for a in spec.agents if a.cell == cell.name]
    if agent_ids:  # the leaf admits the agents the tree gives it
        tables.setdefault("agents", {}).setdefault("allowed", agent_ids)
    lines = []
    for table in sorted(tables):
        lines += ["", f"[{table}]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in tables[table].items()]
    return lines


def _credential_lines(cell: CellSpec, security: Security) -> list[str]:
    """[tls] and [auth]."""
    lines = []
    if security.certs is not None:
        lines += ["", "[tls]", f"ca_file = {q(str(security.certs / 'ca.pem'))}",
                  f"cert_file = {q(str(security.certs / (cell.name + '.pem')))}",
                  f"key_file = {q(str(security.certs / (cell.name + '.key')))}"]
    if security.tokens_file is not None:
        lines += ["", "[auth]", f"tokens_file = {q(str(security.tokens_file))}"]
    return lines


def _catalog_lines(spec: TreeSpec, cell: CellSpec) -> list[str]:
    """A leaf's [flavors]; every cell's [[images]] and [[networks]]."""
    lines = []
    if cell.driver and spec.flavors:
        lines += ["", "[flavors]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in spec.flavors.items()]
    for table, entries in (("images", spec.images), ("networks", spec.networks)):
        for entry in entries:
            lines += ["", f"[[{table}]]"]
            lines += [f"{k} = {toml_value(v)}" for k, v in entry.items()]
    return lines


def _leaf_lines(cell: CellSpec, options: Mapping[str, Any], state_dir: Path) -> list[str]:
    """[leaf]: the driver, its options and its hosts."""
    lines = ["", "[leaf]", f"driver = {q(cell.driver)}", f"selector = {q(cell.selector)}"]
    lines += [f"{k} = {toml_value(v)}" for k, v in options.items()]
    if cell.driver == "fake" and cell.replicas > 1 and "state_file" not in options:
        # The fake "hypervisor" the active process and its standbys share.
        shared = state_dir.parent / cell.name / "fake-hypervisor.db"
        lines.append(f"state_file = {q(str(shared))}")
    for host in cell.hosts:
        lines += ["", "[[leaf.hosts]]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in host.items()]
    return lines
