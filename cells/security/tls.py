"""Mutual TLS between cells, and server TLS for clients.

A cell with a [tls] table serves two ports:

    listen         cells only: a client certificate from the deployment's CA is
                   required, and its name decides what the peer may do
    client_listen  clients: server TLS only; clients prove who they are with
                   an API token (cells.security.auth)

On the cells' port, a peer's certificate names a cell (common name, see
cells.ops.certs). `Parent.Register` and `Parent.Report` are accepted only from the
cell they name; `Cells` calls only from this cell's ancestors (its parent, or
the top when it routes straight to leaves), which are the names in its path.

A cell without [tls] must say `insecure = true`: one port, plaintext, no
peer checks. The demo runs so, and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from cells.errors import ConfigError
from model.errors import PermissionDenied

_KEYS = {"ca_file", "cert_file", "key_file"}


@dataclass(frozen=True, slots=True)
class TlsConfig:
    ca_file: Path
    cert_file: Path
    key_file: Path

    @classmethod
    def from_table(cls, table: Any, source: str) -> TlsConfig:
        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: [tls] must be a table")
        unknown = set(table) - _KEYS
        missing = _KEYS - set(table)
        if unknown or missing:
            raise ConfigError(
                f"{source} [tls]: give ca_file, cert_file and key_file"
                + (f" (unknown: {', '.join(sorted(unknown))})" if unknown else "")
                + (f" (missing: {', '.join(sorted(missing))})" if missing else ""))
        return cls(*(Path(str(table[k])) for k in ("ca_file", "cert_file", "key_file")))

    def load(self) -> Tls:
        try:
            return Tls(self.ca_file.read_bytes(), self.cert_file.read_bytes(),
                       self.key_file.read_bytes())
        except OSError as exc:
            raise ConfigError(f"cannot read a TLS file: {exc}") from None


@dataclass(frozen=True, slots=True)
class Tls:
    """A cell's CA, certificate and key, in PEM."""

    ca: bytes
    cert: bytes
    key: bytes

    def cells_port(self) -> grpc.ServerCredentials:
        """The port for other cells: their certificate is required and checked."""
        return grpc.ssl_server_credentials([(self.key, self.cert)], root_certificates=self.ca,
                                           require_client_auth=True)

    def clients_port(self) -> grpc.ServerCredentials:
        """The port for clients: this cell proves itself; clients use tokens."""
        return grpc.ssl_server_credentials([(self.key, self.cert)])

    def channel(self) -> grpc.ChannelCredentials:
        """Credentials for calling another cell: trust the CA, show our certificate."""
        return grpc.ssl_channel_credentials(self.ca, self.key, self.cert)


def target_options(peer_name: str) -> list[tuple[str, Any]]:
    """Channel options that make TLS check the peer's certificate names `peer_name`
    (whatever address it is reached at)."""
    return [("grpc.ssl_target_name_override", peer_name)] if peer_name else []


def peer_cell(auth_context: Mapping[str, Iterable[bytes]]) -> str | None:
    """The cell name on a verified peer certificate; None without one."""
    names = list(auth_context.get("x509_common_name") or ())
    return names[0].decode() if names else None


def require_peer(auth_context: Mapping[str, Iterable[bytes]], allowed: Sequence[str],
                 what: str) -> None:
    """PermissionDenied unless the peer's certificate names one of `allowed`."""
    name = peer_cell(auth_context)
    if name not in allowed:
        who = f"cell {name}" if name else "a peer without a cell certificate"
        raise PermissionDenied(f"{who} may not {what}")
