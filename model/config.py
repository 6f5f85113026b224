"""Reading configuration files, and what goes wrong doing it.

    read_toml       a TOML file (a cell's config, a tree file, the API's config)
    ConfigError     a configuration file or option is wrong; the message says how

What can go wrong with a call is the shared tree in `model.errors`;
`cells.edge.status` maps every package's errors to gRPC status codes.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A configuration file or option is wrong; the message says how."""


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The TOML file at `path` (`what` it is, for the message: "config file",
    "tree file"...); ConfigError when it is missing or not TOML."""
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
