"""`cellrouter users` and `cellrouter api-keys`: the API's users file and token keys.

    cellrouter users add NAME --project P [--role admin|manager|member|reader] --file F
                         [--password-stdin]
    cellrouter users list --file F
    cellrouter users remove NAME --file F
    cellrouter api-keys init --dir D
    cellrouter api-keys rotate --dir D

Each command returns its exit status: 0, or 1 after printing `cellrouter: <why>`
on stderr for an IdentityError or an OSError (no traceback). A password is read
with getpass (asked twice), or as one line of stdin with --password-stdin; it
is never printed. `add` makes the project (its id: its name) when there is
none of that name; `list` prints a line per project a user has a role on.
Users, projects and roles made through the API (Keystone's admin endpoints)
are in the same file. The CLI does not reach the API database, so a user it
removes keeps their tokens until they expire (DELETE /identity/v3/users/{id}
ends them at once).
"""

from __future__ import annotations

import argparse
import functools
import getpass
import sys
from collections.abc import Callable
from pathlib import Path

from api.identity.errors import BadAuthRequest, IdentityError
from api.identity.keys import KeyRepository
from api.identity.users import ROLES, UserStore
from model.table import print_table

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
    c = actions.add_parser("remove", help="remove a user (their tokens live until they expire)")
    c.add_argument("name")
    c.set_defaults(func=cmd_users_remove)
    for c in actions.choices.values():
        c.add_argument("--file", required=True, help="the users file the API reads")


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
        except (IdentityError, OSError) as exc:
            print(f"cellrouter: {getattr(exc, 'message', exc)}", file=sys.stderr)
            return 1
    return run


@_reports_errors
def cmd_users_add(args: argparse.Namespace) -> int:
    password = _read_password(args.password_stdin)
    user = UserStore(Path(args.file)).add(args.name, args.project, args.role, password)
    print(f"user {user.name} added to project {user.project} as {user.role}")
    return 0


@_reports_errors
def cmd_users_list(args: argparse.Namespace) -> int:
    store = UserStore(Path(args.file))
    names = {p.id: p.name for p in store.projects()}
    rows = [("NAME", "PROJECT", "ROLE", "ID")]
    for user in store.users():
        held = dict.fromkeys(g.project_id for g in store.grants() if g.user_id == user.id)
        rows += [(user.name, names.get(p, p), store.role_on(user.id, p), user.id)
                 for p in held] or [(user.name, "-", "-", user.id)]
    print_table(rows)
    return 0


@_reports_errors
def cmd_users_remove(args: argparse.Namespace) -> int:
    UserStore(Path(args.file)).remove(args.name)
    print(f"user {args.name} removed (tokens already issued stay valid until they expire)")
    return 0


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
