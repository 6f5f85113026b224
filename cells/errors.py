"""Errors of running a cell.

    ConfigError     a configuration file or option is wrong; the message says how

What can go wrong with a call is the shared tree in `model.errors`;
`cells.edge.status` maps every package's errors to gRPC status codes.
"""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration file or option is wrong; the message says how."""
