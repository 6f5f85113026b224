"""Tests for cells.config: reading and checking a cell's configuration."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from cells.config import CellConfig, from_mapping, load
from model.config import ConfigError

HOSTS = [
    {"name": "host-1", "vcpus": 32, "memory_mb": 131072, "disk_gb": 1000},
    {"name": "host-2", "vcpus": 8, "memory_mb": 16384},
]


def router(**cell: Any) -> dict[str, Any]:
    return {"cell": {"name": "eu", "listen": "127.0.0.1:50061", "insecure": True, **cell}}


def test_router_defaults() -> None:
    cfg = from_mapping(router())
    assert (cfg.name, cfg.listen, cfg.parent) == ("eu", "127.0.0.1:50061", "")
    assert cfg.leaf is None and not cfg.is_leaf
    assert cfg.state_dir == Path("./state/eu")
    assert cfg.db_url == f"sqlite:///{Path('./state/eu') / 'cell.db'}"
    assert (cfg.report_interval, cfg.down_after, cfg.max_hops, cfg.child_timeout) == (
        1.0, 3, 10, 30.0,
    )
    assert cfg.selector == "random"


def test_router_every_key(tmp_path: Path) -> None:
    cfg = from_mapping(router(
        parent="10.0.0.1:50051", state_dir=str(tmp_path), report_interval=0.25,
        down_after=5, max_hops=4, child_timeout=2, selector="random",
        database_url="postgresql+psycopg://u@db/cells",
    ))
    assert cfg.parent == "10.0.0.1:50051"
    assert cfg.state_dir == tmp_path
    assert (cfg.report_interval, cfg.down_after, cfg.max_hops, cfg.child_timeout) == (
        0.25, 5, 4, 2.0,
    )
    assert cfg.db_url == "postgresql+psycopg://u@db/cells"


def test_leaf_carries_hosts_and_db_under_state_dir(tmp_path: Path) -> None:
    data = router(name="eu-a", state_dir=str(tmp_path / "eu-a"))
    data["leaf"] = {"driver": "fake", "selector": "random", "hosts": HOSTS}
    cfg = from_mapping(data)
    assert cfg.is_leaf and cfg.leaf is not None
    assert (cfg.leaf.driver, cfg.leaf.selector) == ("fake", "random")
    assert cfg.leaf.hosts == tuple(HOSTS)
    assert dict(cfg.leaf.options) == {}
    assert cfg.db_url == f"sqlite:///{tmp_path / 'eu-a' / 'cell.db'}"


def test_leaf_extra_keys_become_driver_options() -> None:
    data = router()
    data["leaf"] = {"driver": "libvirt", "uri": "qemu:///system"}
    cfg = from_mapping(data)
    assert cfg.leaf is not None
    assert (cfg.leaf.driver, cfg.leaf.hosts) == ("libvirt", ())
    assert dict(cfg.leaf.options) == {"uri": "qemu:///system"}


def _without(key: str) -> dict[str, Any]:
    data = router()
    del data["cell"][key]
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "missing the \\[cell\\] table"),
        ({"cell": "eu"}, "missing the \\[cell\\] table"),
        (_without("name"), "'name' is required"),
        (_without("listen"), "'listen' is required"),
        (router(name="EU"), "bad cell name 'EU'"),
        (router(name="eu a"), "bad cell name 'eu a'"),
        (router(name=""), "bad cell name ''"),
        (router(name=7), "'name' must be a str, got 7"),
        (router(listen="127.0.0.1"), "listen address '127.0.0.1' is not HOST:PORT"),
        (router(listen=":50061"), "is not HOST:PORT"),
        (router(listen="host:port"), "is not HOST:PORT"),
        (router(listen="host:70000"), "is not HOST:PORT"),
        (router(listen=50061), "'listen' must be a str"),
        (router(report_interval=-1), "'report_interval' must be a positive number, got -1"),
        (router(report_interval=0), "'report_interval' must be a positive number"),
        (router(report_interval="1"), "'report_interval' must be a positive number"),
        (router(down_after=True), "'down_after' must be a positive whole number, got True"),
        (router(max_hops=-3), "'max_hops' must be a positive whole number"),
        (router(child_timeout=0.0), "'child_timeout' must be a positive number"),
        (router(parent=1), "'parent' must be a str"),
        (router(colour="blue"), "unknown keys colour"),
        (router(zeta=1, alpha=2), "unknown keys alpha, zeta"),
        ({**router(), "leaf": "fake"}, "\\[leaf\\] must be a table"),
        ({**router(), "leaf": {"hosts": {"name": "h"}}}, "leaf.hosts must be a list of tables"),
        ({**router(), "leaf": {"hosts": ["h1"]}}, "leaf.hosts must be a list of tables"),
        ({**router(), "leaf": {"driver": 3}}, "'driver' must be a str"),
    ],
    ids=["empty", "cell-not-table", "no-name", "no-listen", "uppercase-name",
         "name-with-space", "empty-name", "name-not-str", "listen-no-port",
         "listen-no-host", "listen-port-not-number", "listen-port-too-big",
         "listen-not-str", "negative-report-interval", "zero-report-interval",
         "string-report-interval", "bool-down-after", "negative-max-hops",
         "zero-child-timeout", "parent-not-str", "unknown-key", "unknown-keys-sorted",
         "leaf-not-table", "hosts-is-table", "hosts-not-tables", "driver-not-str"],
)
def test_from_mapping_errors(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_mapping(data, source="cell.toml")


def test_errors_name_the_source() -> None:
    with pytest.raises(ConfigError, match=r"^my\.toml: missing"):
        from_mapping({}, source="my.toml")


def test_fractional_down_after_is_not_truncated_to_zero() -> None:
    try:
        cfg = from_mapping(router(down_after=0.5))
    except ConfigError:
        return
    assert cfg.down_after > 0


def test_load_reads_toml(tmp_path: Path) -> None:
    path = tmp_path / "cell.toml"
    path.write_text(
        '[cell]\nname = "eu-a"\nlisten = "127.0.0.1:50061"\nparent = "127.0.0.1:50051"\n'
        'insecure = true\n'
        '[leaf]\ndriver = "fake"\n'
        '[[leaf.hosts]]\nname = "host-1"\nvcpus = 32\nmemory_mb = 131072\n'
    )
    cfg = load(path)
    assert isinstance(cfg, CellConfig)
    assert (cfg.name, cfg.parent) == ("eu-a", "127.0.0.1:50051")
    assert cfg.leaf is not None
    assert cfg.leaf.hosts == ({"name": "host-1", "vcpus": 32, "memory_mb": 131072},)


def test_load_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError, match=r"absent\.toml does not exist"):
        load(path)


def test_load_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[cell\nname = ")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load(path)


def test_load_reports_errors_with_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "cell.toml"
    path.write_text('[cell]\nname = "eu"\n')
    with pytest.raises(ConfigError, match=re.escape(f"{path}: 'listen' is required")):
        load(path)


def test_flavors_table_is_read_and_checked() -> None:
    from model.compute import Resources

    cell = {"name": "z", "listen": "127.0.0.1:0", "insecure": True}
    config = from_mapping({"cell": cell,
                           "flavors": {"small": {"vcpus": 1, "memory_mb": 2048, "disk_gb": 20}}})
    assert config.flavors == {"small": Resources(1, 2048, 20)}
    with pytest.raises(ConfigError, match="flavors"):
        from_mapping({"cell": cell, "flavors": {"bad": {"vcpus": 0, "memory_mb": 1}}})
    with pytest.raises(ConfigError, match="unknown keys gpus"):
        from_mapping({"cell": cell, "flavors": {"bad": {"vcpus": 1, "memory_mb": 1, "gpus": 1}}})


def test_plaintext_must_be_asked_for() -> None:
    cell = {"name": "z", "listen": "127.0.0.1:0"}
    with pytest.raises(ConfigError, match="insecure = true"):
        from_mapping({"cell": cell})
    tls = {"ca_file": "ca.pem", "cert_file": "z.pem", "key_file": "z.key"}
    with pytest.raises(ConfigError, match="contradicts"):
        from_mapping({"cell": {**cell, "insecure": True}, "tls": tls})
    cfg = from_mapping({"cell": cell, "tls": tls})
    assert cfg.tls is not None and cfg.tls.cert_file == Path("z.pem")


@pytest.mark.parametrize(("tls", "message"), [
    ({"ca_file": "a"}, "missing: cert_file, key_file"),
    ({"ca_file": "a", "cert_file": "b", "key_file": "c", "pin": "d"}, "unknown: pin"),
    ("ca.pem", "must be a table"),
], ids=["missing", "unknown", "not-a-table"])
def test_a_bad_tls_table_says_what_is_wrong(tls: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        from_mapping({"cell": {"name": "z", "listen": "127.0.0.1:0"}, "tls": tls})


def test_tokens_need_a_client_port() -> None:
    cell = {"name": "top", "listen": "127.0.0.1:0", "insecure": True}
    auth = {"tokens_file": "tokens.json"}
    with pytest.raises(ConfigError, match="client_listen"):
        from_mapping({"cell": cell, "auth": auth})
    cfg = from_mapping({"cell": {**cell, "client_listen": "127.0.0.1:0"}, "auth": auth})
    assert cfg.tokens_file == Path("tokens.json") and cfg.client_listen == "127.0.0.1:0"


CLIENT_CELL = {"name": "top", "listen": "127.0.0.1:0", "insecure": True,
               "client_listen": "127.0.0.1:0"}


def test_a_client_port_without_auth_is_refused_and_says_the_two_ways_out() -> None:
    with pytest.raises(ConfigError, match="client_listen needs token auth") as refused:
        from_mapping({"cell": CLIENT_CELL})
    assert "[auth] table with tokens_file" in str(refused.value)
    assert 'client_auth = "none"' in str(refused.value)


def test_client_auth_none_opens_the_client_port_in_so_many_words() -> None:
    cfg = from_mapping({"cell": {**CLIENT_CELL, "client_auth": "none"}})
    assert (cfg.client_auth, cfg.tokens_file) == ("none", None)
    assert from_mapping(router()).client_auth == "token"  # the default


@pytest.mark.parametrize(("cell", "auth", "message"), [
    ({"client_auth": "none"}, {"tokens_file": "t.json"}, 'client_auth = "none" contradicts'),
    ({"client_auth": "open"}, None, 'client_auth must be "token" or "none"'),
    ({"client_auth": True}, None, "'client_auth' must be a str"),
], ids=["none-beside-auth", "unknown-value", "not-a-string"])
def test_client_auth_refuses_contradictions_and_unknown_values(
        cell: dict[str, Any], auth: dict[str, str] | None, message: str) -> None:
    data: dict[str, Any] = {"cell": {**CLIENT_CELL, **cell}}
    if auth is not None:
        data["auth"] = auth
    with pytest.raises(ConfigError, match=re.escape(message)):
        from_mapping(data)


def test_an_active_lock_needs_postgresql() -> None:
    with pytest.raises(ConfigError, match="active_lock needs a PostgreSQL database_url"):
        from_mapping(router(active_lock=True))
    pg = "postgresql+psycopg://cells@db/cells"
    assert from_mapping(router(active_lock=True, database_url=pg)).active_lock


def test_the_agents_table_sets_down_period_failover_and_filters() -> None:
    cfg = from_mapping({**router(), "agents": {
        "down_after": 2.5, "failover": True, "failover_threshold": 1,
        "filters": ["max_instances"], "options": {"max_instances": {"limit": 4}}}})
    assert (cfg.agent_down_after, cfg.agent_failover.enabled, cfg.agent_failover.threshold) == (
        2.5, True, 1)
    assert (cfg.agent_filters, cfg.agent_filter_options) == (
        ("max_instances",), {"max_instances": {"limit": 4}})
    default = from_mapping(router())
    assert not default.agent_failover.enabled and default.agent_filters == ()


@pytest.mark.parametrize(("agents", "message"), [
    ({"filters": "max_instances"}, "filters must be a list"),
    ({"options": {"max_instances": 4}}, "options must be tables"),
    ({"failover": "yes"}, "'failover' must be a bool"),
    ({"down_after": 0}, "down_after"),
    ({"brake": 1}, "unknown keys brake"),
], ids=["filters-str", "options-not-table", "failover-str", "zero-down", "unknown"])
def test_a_bad_agents_table_is_refused(agents: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_mapping({**router(), "agents": agents}, source="cell.toml")
