"""`cellrouter users`, `tokens` and `api-keys`: the API's users file, tokens and keys.

    cellrouter users add NAME --project P [--role admin|manager|member|reader]
                         [--password-stdin] WHERE
    cellrouter users list WHERE
    cellrouter users remove|disable|enable NAME WHERE
    cellrouter users passwd NAME [--password-stdin] WHERE
    cellrouter tokens revoke --user U [--config C]
    cellrouter api-keys init --dir D
    cellrouter api-keys rotate --dir D

Each command returns its exit status: 0, or 1 after printing `cellrouter: <why>`
on stderr for an IdentityError or an OSError (no traceback). A password is read
with getpass (asked twice), or as one line of stdin with --password-stdin; it
is never printed. `add` makes the project (its id: its name) when there is
none of that name; `list` prints a line per project a user has a role on.
Users, projects and roles made through the API (Keystone's admin endpoints)
are in the same file.

WHERE is `--config C`, the API's config (`cellrouter up` writes
api/api.toml and exports it as CELLROUTER_API_CONFIG in api/openrc, which is
the default), or `--file F`, the users file alone. With the config, `remove`,
`disable` and `passwd` also end the user's tokens in the API database, where
every API process reads revocations (api.identity.revocation: refused
everywhere within a second); with `--file` alone they stay valid until they
expire. `tokens revoke --user U` ends every token of U (a name in the users
file, or a user id: a directory user's) and needs the config.

When the config's [identity] backend is "ldap", users and roles come from the
directory: `list` shows the directory's users (their ids as their tokens carry
them, projects and roles from their groups; at most [identity.ldap] list_limit,
with a note on stderr when there were more), `add`, `remove`, `enable`,
`disable` and `passwd` refuse (exit 1, saying to change them in the directory)
and change nothing; `tokens revoke --user U` still works. `list --file F`
always lists the file.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from api.config import ApiConfig, load_config
from api.db.schema import open_api_database
from api.identity.backends import IdentityBackend, check_writable, open_backend
from api.identity.backends.file import FileBackend
from api.identity.errors import BadAuthRequest, IdentityError, UnknownUser
from api.identity.keys import KeyRepository
from api.identity.revocation import DatabaseRevocations, end_user
from api.identity.users import ROLES, User, UserStore, highest
from celldb.errors import DatabaseUnavailable
from model.config import ConfigError
from model.table import print_table

CONFIG_VARIABLE = "CELLROUTER_API_CONFIG"
_KEPT = "tokens already issued stay valid until they expire"

_Command = Callable[[argparse.Namespace], int]


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The users and api-keys commands, on the main parser's subparsers."""
    _add_users(sub.add_parser("users", help="who may log in to the OpenStack API"))
    _add_keys(sub.add_parser("api-keys", help="the keys that sign the OpenStack API's tokens"))


def _add_users(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="users_command", required=True)
    c = actions.add_parser("add", help="add a user to a project")
    c.add_argument("name", help="the user's login name")
    c.add_argument("--project", required=True, help="the project the user works in")
    c.add_argument("--role", default="member", choices=ROLES, help="default: member")
    c.add_argument("--password-stdin", action="store_true",
                   help="read the password as one line of stdin instead of asking")
    c.set_defaults(func=cmd_users_add)
    c = actions.add_parser("list", help="list users (never their password hashes)")
    c.set_defaults(func=cmd_users_list)
    c = actions.add_parser("remove", help="remove a user and end their tokens")
    c.add_argument("name")
    c.set_defaults(func=cmd_users_remove)
    for enabled in (False, True):
        c = actions.add_parser("enable" if enabled else "disable",
                               help="let the user log in again" if enabled
                               else "stop the user logging in; end their tokens")
        c.add_argument("name")
        c.set_defaults(func=cmd_users_enable, enabled=enabled)
    c = actions.add_parser("passwd", help="change a user's password; end their tokens")
    c.add_argument("name")
    c.add_argument("--password-stdin", action="store_true",
                   help="read the password as one line of stdin instead of asking")
    c.set_defaults(func=cmd_users_passwd)
    for c in actions.choices.values():
        _add_where(c)


def _add_where(c: argparse.ArgumentParser) -> None:
    c.add_argument("--config", help=f"the API's config (default: ${CONFIG_VARIABLE}): its"
                                    " users file, and its database to end tokens in")
    c.add_argument("--file", help="the users file alone (then tokens are not ended)")


def add_revoke_user(c: argparse.ArgumentParser) -> None:
    """--user and --config on `cellrouter tokens revoke` (cellops.cli_admin's, which
    revokes the tree's client tokens by id; with --user it calls `cmd_tokens_revoke`)."""
    c.add_argument("--user", help="end every OpenStack API token of this user, on every API"
                                  " process: a name in the users file, or a user id")
    c.add_argument("--config", help=f"with --user: the API's config (default:"
                                    f" ${CONFIG_VARIABLE})")


def _add_keys(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="keys_command", required=True)
    c = actions.add_parser("init", help="make the key directory (does nothing if it has keys)")
    c.set_defaults(func=cmd_keys_init)
    c = actions.add_parser("rotate", help="promote the staged key; drop the oldest")
    c.add_argument("--max-active", type=int, default=3,
                   help="keys kept, the staged one included (default 3, at least 3)")
    c.set_defaults(func=cmd_keys_rotate)
    for c in actions.choices.values():
        c.add_argument("--dir", required=True, help="the key directory every API process reads")


def _reports_errors(command: _Command) -> _Command:
    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (IdentityError, OSError, ConfigError, DatabaseUnavailable) as exc:
            print(f"cellrouter: {getattr(exc, 'message', exc)}", file=sys.stderr)
            return 1
    return run


@_reports_errors
def cmd_users_add(args: argparse.Namespace) -> int:
    store = _writable(args)[0]
    password = _read_password(args.password_stdin)
    user = store.add(args.name, args.project, args.role, password)
    print(f"user {user.name} added to project {user.project} as {user.role}")
    return 0


@_reports_errors
def cmd_users_list(args: argparse.Namespace) -> int:
    backend = _listing(args)
    listed = backend.users()
    names = {p.id: p.name for p in backend.projects()}
    rows = [("NAME", "PROJECT", "ROLE", "ID")]
    for account in listed.found:
        user = account.user
        if user is None:
            continue
        held = dict.fromkeys(g.project_id for g in account.grants)
        rows += [(user.name, names.get(p, p),
                  highest([g.role for g in account.grants if g.project_id == p]), user.id)
                 for p in held] or [(user.name, "-", "-", user.id)]
    print_table(rows)
    if listed.truncated:
        print(f"note: the directory has more users than these {len(listed.found)}"
              " ([identity.ldap] list_limit, or the directory's own size limit)",
              file=sys.stderr)
    return 0


def _listing(args: argparse.Namespace) -> IdentityBackend:
    """Where `list` reads: --file's users file, else the config's backend."""
    store, config = _where(args)
    return FileBackend(store) if args.file or config is None else open_backend(
        config.identity, store).blocking


@_reports_errors
def cmd_users_remove(args: argparse.Namespace) -> int:
    store, config = _writable(args)
    ended = _end_tokens(config, _named(store, args.name))  # before: never the other way round
    store.remove(args.name)
    print(f"user {args.name} removed ({ended})")
    return 0


@_reports_errors
def cmd_users_enable(args: argparse.Namespace) -> int:
    store, config = _writable(args)
    ended = "" if args.enabled else f" ({_end_tokens(config, _named(store, args.name))})"
    store.set_enabled(args.name, args.enabled)
    print(f"user {args.name} {'enabled' if args.enabled else 'disabled'}{ended}")
    return 0


@_reports_errors
def cmd_users_passwd(args: argparse.Namespace) -> int:
    store, config = _writable(args)
    user = _named(store, args.name)
    password = _read_password(args.password_stdin)
    store.set_password(args.name, password)
    # After the change: a token issued in between was issued with the old password.
    print(f"password of user {args.name} changed ({_end_tokens(config, user)})")
    return 0


@_reports_errors
def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    config = _config(args)
    if config is None:
        raise BadAuthRequest(f"give --config API_CONFIG (or set {CONFIG_VARIABLE}): the"
                             " revocation is written to the API's database")
    store = UserStore(config.users_file)
    user = next((u for u in store.users() if u.name == args.user), None)
    ident = user.id if user is not None else args.user
    if user is None and open_backend(config.identity, store).blocking.account(ident).user is None:
        if config.identity.backend == "file":
            raise UnknownUser(f"there is no user named or with the id {args.user}"
                              f" in {config.users_file}")
        print(f"note: the directory has no user with the id {ident} now")
    _end(config, ident)
    print(f"tokens of user {args.user} revoked on every API process")
    return 0


def _config(args: argparse.Namespace) -> ApiConfig | None:
    """The API config of --config, else of $CELLROUTER_API_CONFIG unless --file is given."""
    path = args.config or (None if getattr(args, "file", None) else
                           os.environ.get(CONFIG_VARIABLE))
    return load_config(Path(path)) if path else None


def _where(args: argparse.Namespace) -> tuple[UserStore, ApiConfig | None]:
    """The users file (--file, else the config's) and the config, if any."""
    config = _config(args)
    if args.file:
        return UserStore(Path(args.file)), config
    if config is None:
        raise BadAuthRequest(f"give --config API_CONFIG (or set {CONFIG_VARIABLE}),"
                             " or --file USERS_FILE")
    return UserStore(config.users_file), config


def _writable(args: argparse.Namespace) -> tuple[UserStore, ApiConfig | None]:
    """`_where`, once the config (if any) lets cellrouter change users: with
    [identity] backend = "ldap" they come from the directory, and Forbidden
    says so (the same refusal as the admin API's)."""
    store, config = _where(args)
    if config is not None:
        check_writable(open_backend(config.identity, store).blocking)
    return store, config


def _named(store: UserStore, name: str) -> User:
    found = next((u for u in store.users() if u.name == name), None)
    if found is None:
        raise UnknownUser(f"there is no user named {name} in {store.path}")
    return found


def _end_tokens(config: ApiConfig | None, user: User) -> str:
    """End the user's tokens when the config names the database; what was done."""
    if config is None:
        return _KEPT
    _end(config, user.id)
    return "their tokens are refused on every API process within a second"


def _end(config: ApiConfig, user_id: str) -> None:
    engine = open_api_database(config.database)
    try:
        end_user(DatabaseRevocations(engine), user_id, config.token_ttl)
    finally:
        engine.dispose()


@_reports_errors
def cmd_keys_init(args: argparse.Namespace) -> int:
    keys = KeyRepository(Path(args.dir))
    made = keys.init()
    state = "made" if made else "already has keys"
    print(f"key directory {args.dir} {state}: key {max(keys.keys())} is the primary")
    return 0


@_reports_errors
def cmd_keys_rotate(args: argparse.Namespace) -> int:
    if args.max_active < 3:
        raise BadAuthRequest("--max-active must be at least 3, to keep the previous primary")
    keys = KeyRepository(Path(args.dir), args.max_active)
    primary = keys.rotate()
    print(f"key {primary} is the primary now; {len(keys.keys())} keys kept in {args.dir}"
          " (copy the directory to every API host)")
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        raise BadAuthRequest("the two passwords differ; nothing was changed")
    return password
