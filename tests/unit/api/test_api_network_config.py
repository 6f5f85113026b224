"""The API config's optional [network] table: the network service's settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.config import load_config
from model.config import ConfigError
from network.resources import NetworkType
from network.settings import NetworkSettings

API = '[api]\nlisten = "127.0.0.1:8774"\ntop = "127.0.0.1:50051"\n'


def test_without_a_network_table_the_defaults_hold(tmp_path: Path) -> None:
    (tmp_path / "api.toml").write_text(API)
    assert load_config(tmp_path / "api.toml").network == NetworkSettings()


def test_a_network_table_sets_the_service_up(tmp_path: Path) -> None:
    (tmp_path / "api.toml").write_text(API + '[network]\nmac_base = "FA:16:3F"\n'
                                       'tenant_network_type = "flat"\n'
                                       'physical_network = "datacentre"\n')
    network = load_config(tmp_path / "api.toml").network
    assert (network.mac_base, network.tenant_network_type, network.physical_network) == (
        "fa:16:3f", NetworkType.FLAT, "datacentre")


def test_a_bad_network_table_names_the_file_and_the_key(tmp_path: Path) -> None:
    (tmp_path / "api.toml").write_text(API + '[network]\nvlans = "1:99"\n')
    with pytest.raises(ConfigError, match=r"api.toml: unknown keys in \[network\]: vlans"):
        load_config(tmp_path / "api.toml")
