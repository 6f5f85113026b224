"""api.config's image keys: where uploaded images' data goes, and how large it may be."""

from __future__ import annotations

from pathlib import Path

from api.config import ApiConfig, load_config

HEAD = '[api]\nlisten = "127.0.0.1:8774"\ntop = "127.0.0.1:50051"\n'


def test_uploaded_images_go_beside_the_config_unless_told(tmp_path: Path) -> None:
    path = tmp_path / "api.toml"
    path.write_text(HEAD)
    config = load_config(path)
    assert (config.image_path, config.max_image_size) == (tmp_path / "images", 1 << 30)
    path.write_text(HEAD + 'image_dir = "data/img"\nmax_image_size = 2048\n')
    config = load_config(path)
    assert (config.image_path, config.max_image_size) == (tmp_path / "data" / "img", 2048)


def test_a_config_made_in_code_keeps_images_beside_its_users_file(tmp_path: Path) -> None:
    config = ApiConfig(listen="127.0.0.1:8774", top="x", users_file=tmp_path / "users.json")
    assert config.image_path == tmp_path / "images"
