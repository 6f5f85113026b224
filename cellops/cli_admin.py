"""`cellrouter certs` and `cellrouter tokens`: the deployment's credentials.

    cellrouter certs init --dir certs               a development CA
    cellrouter certs issue NAME --dir certs [--role cell|agent|api]
                                                    a cell's (or an agent's, the API's) certificate
    cellrouter tokens issue --file F --project P [--role member|admin] [--name N]
    cellrouter tokens list --file F
    cellrouter tokens revoke --file F ID
    cellrouter tokens revoke --user U [--config API_CONFIG]
                                                    every OpenStack API token of a user
                                                    (api.identity.cli)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from api.identity import cli as identity_cli
from cellops import certs
from cells.security.auth import ROLES, TokenStore
from model.config import ConfigError


def cmd_certs_init(args: argparse.Namespace) -> int:
    made = certs.init_ca(Path(args.dir))
    print(f"CA certificate {made.cert}; its key {made.key} (keep it private)")
    return 0


def cmd_certs_issue(args: argparse.Namespace) -> int:
    made = certs.issue(Path(args.dir), args.name, (*certs.LOOPBACK, *args.host), args.role)
    print(f"certificate for {args.role} {args.name}: {made.cert}, key {made.key}")
    return 0


def cmd_tokens_issue(args: argparse.Namespace) -> int:
    token, record = TokenStore(Path(args.file)).issue(args.project, args.role, args.name)
    print(token)  # shown once: the file keeps only its hash
    print(f"token {record.id}: role {record.role}, project {record.project or '(all)'};"
          " it is not shown again", flush=True)
    return 0


def cmd_tokens_list(args: argparse.Namespace) -> int:
    records = TokenStore(Path(args.file)).records().values()
    if args.json:
        print(json.dumps([{"id": r.id, "project": r.project, "role": r.role, "name": r.name}
                          for r in records], indent=2))
        return 0
    for r in records:
        print(f"{r.id}  {r.role:<6}  {r.project or '-':<16}  {r.name}".rstrip())
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    if args.user is not None:  # the OpenStack API's tokens of a user
        return identity_cli.cmd_tokens_revoke(args)
    if not (args.file and args.id):
        raise ConfigError("tokens revoke needs --file F and a token id (or --user U)")
    TokenStore(Path(args.file)).revoke(args.id)
    print(f"token {args.id} revoked")
    return 0


def add_parsers(sub: Any) -> None:
    """The certs and tokens commands, on the main parser's subparsers."""
    p = sub.add_parser("certs", help="a development CA and cell certificates")
    actions = p.add_subparsers(dest="certs_command", required=True)
    c = actions.add_parser("init", help="create ca.pem and ca.key")
    c.add_argument("--dir", default="certs", help="where they go (default: certs)")
    c.set_defaults(func=cmd_certs_init)
    c = actions.add_parser("issue", help="issue NAME.pem and NAME.key for a cell, an agent"
                                         " or the API")
    c.add_argument("name", help="the cell's name (an agent's id): its certificate names it")
    c.add_argument("--dir", default="certs", help="the CA's directory (default: certs)")
    c.add_argument("--role", default="cell", choices=certs.ROLES,
                   help="what the holder is: a cell (the default), an agent reporting to a"
                        " leaf, or the HTTPS API (server only); written into the certificate")
    c.add_argument("--host", action="append", default=[],
                   help="another DNS name or IP the cell is reached at; repeat for more")
    c.set_defaults(func=cmd_certs_issue)

    p = sub.add_parser("tokens", help="API tokens for clients")
    actions = p.add_subparsers(dest="tokens_command", required=True)
    c = actions.add_parser("issue", help="issue a token (printed once)")
    c.add_argument("--file", required=True, help="the tokens file the top cell reads")
    c.add_argument("--project", default="", help="the project a member acts in")
    c.add_argument("--role", default="member", choices=ROLES)
    c.add_argument("--name", default="", help="a note: who holds it")
    c.set_defaults(func=cmd_tokens_issue)
    c = actions.add_parser("list", help="list tokens (never their secrets)")
    c.add_argument("--file", required=True)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_tokens_list)
    c = actions.add_parser("revoke", help="revoke a token by id, or the API tokens of a user")
    c.add_argument("--file", help="the tokens file the top cell reads")
    c.add_argument("id", nargs="?")
    identity_cli.add_revoke_user(c)
    c.set_defaults(func=cmd_tokens_revoke)
