"""Mutual TLS between cells, and server TLS for clients: the credentials of
both ends of a channel, and who the peer is by its certificate.

A cell with a [tls] table serves two ports:

    listen         cells only: a client certificate from the deployment's CA is
                   required, and its name decides what the peer may do
    client_listen  clients: server TLS only; clients prove who they are with
                   an API token (cells.security.auth)

On the cells' port, a peer's certificate names a cell or an agent (common
name) and says which it is (a SAN URI `urn:cellrouter:role:<role>`, see
cellops.certs). `Parent.Register` and `Parent.Report` are accepted only from
a `cell` certificate naming the cell they speak for; `Cells` calls only from
this cell's ancestors (its parent, or the top when it routes straight to
leaves), which are the names in its path, with `cell` certificates; an agent's
calls only from an `agent` certificate naming it (cells.edge.agents). A
certificate without a role URI has no role, and is refused wherever one is
required.

A cell without [tls] must say `insecure = true`: one port, plaintext, no
peer checks. The demo runs so, and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from model.config import ConfigError
from model.errors import PermissionDenied

_KEYS = {"ca_file", "cert_file", "key_file"}
ROLE_URI_PREFIX = "urn:cellrouter:role:"  # as cellops.certs writes it


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


def peer_cell(auth_context: Mapping[str, Iterable[bytes]]) -> str | None:
    """The cell name on a verified peer certificate; None without one."""
    names = list(auth_context.get("x509_common_name") or ())
    return names[0].decode() if names else None


def peer_role(auth_context: Mapping[str, Iterable[bytes]]) -> str | None:
    """The role on a verified peer certificate (its `urn:cellrouter:role:` SAN
    URI, which grpc gives as `peer_uri`); None for a certificate without one."""
    for uri in auth_context.get("peer_uri") or ():
        text = uri.decode(errors="replace")
        if text.startswith(ROLE_URI_PREFIX):
            return text[len(ROLE_URI_PREFIX):]
    return None


def require_role(auth_context: Mapping[str, Iterable[bytes]], role: str, what: str) -> None:
    """PermissionDenied unless the peer's certificate carries `role`; the
    message says what the certificate is, and how to mend one with no role."""
    found = peer_role(auth_context)
    if found == role:
        return
    holder = peer_cell(auth_context) or "the peer"
    if found is None:
        raise PermissionDenied(
            f"certificate of {holder} carries no cellrouter role ({ROLE_URI_PREFIX}...);"
            f" reissue it with `cellrouter certs issue --role {role}` to {what}")
    raise PermissionDenied(f"certificate of {holder} is for role {found[:64]}, not {role}:"
                           f" it may not {what}")


def require_peer(auth_context: Mapping[str, Iterable[bytes]], allowed: Sequence[str],
                 what: str) -> None:
    """PermissionDenied unless the peer's certificate names one of `allowed`
    and is a cell's."""
    name = peer_cell(auth_context)
    if name not in allowed:
        who = f"cell {name}" if name else "a peer without a cell certificate"
        raise PermissionDenied(f"{who} may not {what}")
    require_role(auth_context, "cell", what)
