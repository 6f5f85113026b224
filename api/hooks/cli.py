"""`cellrouter hooks`: web hook subscriptions in the API's database, for operators.

    cellrouter hooks add URL [--event PATTERN]... [--project P] [--secret-stdin] [--config C]
    cellrouter hooks list [--project P] [--config C]
    cellrouter hooks remove ID [--config C]
    cellrouter hooks deliveries [--subscription ID] [--state S] [--limit N] [--config C]

--config is the API's config (default: $CELLROUTER_API_CONFIG, as `cellrouter
users` reads it): its database, and its [hooks] (allow_http). `add` reads the
secret as one line of stdin with --secret-stdin; without it, it makes one and
prints it this once (the receiver needs it; nothing shows it again). Without
--project a subscription gets every project's events and the tree's own.
Each command returns 0, or 1 after printing `cellrouter: <why>`.
"""

from __future__ import annotations

import argparse
import functools
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from api.config import ApiConfig, load_config
from api.db.schema import open_api_database
from api.hooks.deliveries import DEAD, DELIVERED, PENDING, DeliveryStore
from api.hooks.errors import BadSubscription, HookError, UnknownSubscription
from api.hooks.subscriptions import SubscriptionStore, checked
from api.hooks.views import iso
from celldb.errors import DatabaseUnavailable
from model.config import ConfigError
from model.table import print_table

CONFIG_VARIABLE = "CELLROUTER_API_CONFIG"
_Command = Callable[[argparse.Namespace], int]


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("hooks", help="web hook subscriptions of the OpenStack API")
    actions = p.add_subparsers(dest="hooks_command", required=True)
    c = actions.add_parser("add", help="subscribe a URL to events")
    c.add_argument("url", help="https://..., or http:// to a loopback address")
    c.add_argument("--event", action="append", dest="events", metavar="PATTERN",
                   help="an event type glob, e.g. 'instance.*.end' (repeatable; default *)")
    c.add_argument("--project", default="", help="only this project's events (default: all)")
    c.add_argument("--secret-stdin", action="store_true",
                   help="read the signing secret as one line of stdin instead of making one")
    c.set_defaults(func=cmd_add)
    c = actions.add_parser("list", help="list subscriptions (never their secrets)")
    c.add_argument("--project", help="only this project's")
    c.set_defaults(func=cmd_list)
    c = actions.add_parser("remove", help="remove a subscription and its deliveries")
    c.add_argument("id")
    c.set_defaults(func=cmd_remove)
    c = actions.add_parser("deliveries", help="the latest deliveries and their state")
    c.add_argument("--subscription", help="only this subscription's")
    c.add_argument("--state", choices=(PENDING, DELIVERED, DEAD))
    c.add_argument("--limit", type=int, default=50)
    c.set_defaults(func=cmd_deliveries)
    for c in actions.choices.values():
        c.add_argument("--config", help=f"the API's config (default: ${CONFIG_VARIABLE})")


def _reports_errors(command: _Command) -> _Command:
    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (HookError, OSError, ConfigError, DatabaseUnavailable) as exc:
            print(f"cellrouter: {getattr(exc, 'message', exc)}", file=sys.stderr)
            return 1
    return run


def _config(args: argparse.Namespace) -> ApiConfig:
    path = args.config or os.environ.get(CONFIG_VARIABLE)
    if not path:
        raise BadSubscription(f"give --config API_CONFIG (or set {CONFIG_VARIABLE})")
    return load_config(Path(path))


def _stores(config: ApiConfig) -> tuple[SubscriptionStore, DeliveryStore]:
    engine = open_api_database(config.database)
    return SubscriptionStore(engine), DeliveryStore(engine, config.hooks)


@_reports_errors
def cmd_add(args: argparse.Namespace) -> int:
    config = _config(args)
    made_secret = not args.secret_stdin
    secret = secrets.token_urlsafe(32) if made_secret else sys.stdin.readline().strip()
    url, secret, events, project = checked(args.url, secret, args.events, args.project,
                                           config.hooks.allow_http)
    subscriptions, _ = _stores(config)
    made = subscriptions.add(url, secret, events, project, "cellrouter-cli")
    print(f"subscription {made.id} added: {url} gets {', '.join(events)}"
          f" of {project or 'every project'}")
    if made_secret:
        print(f"secret (shown this once): {secret}")
    return 0


@_reports_errors
def cmd_list(args: argparse.Namespace) -> int:
    subscriptions, _ = _stores(_config(args))
    rows = [("ID", "PROJECT", "EVENTS", "URL", "CREATED")]
    rows += [(s.id, s.project or "*", ",".join(s.events), s.url, iso(s.created_at))
             for s in subscriptions.all(args.project)]
    print_table(rows)
    return 0


@_reports_errors
def cmd_remove(args: argparse.Namespace) -> int:
    subscriptions, _ = _stores(_config(args))
    if not subscriptions.remove(args.id):
        raise UnknownSubscription(f"there is no subscription {args.id}")
    print(f"subscription {args.id} removed, with its deliveries")
    return 0


@_reports_errors
def cmd_deliveries(args: argparse.Namespace) -> int:
    _, deliveries = _stores(_config(args))
    ids = [args.subscription] if args.subscription else None
    rows = [("ID", "SUBSCRIPTION", "EVENT", "STATE", "TRIES", "LAST ERROR", "MESSAGE")]
    rows += [(str(d.id), d.subscription_id, d.event_type, d.state, str(d.attempts),
              d.last_error[:60] or "-", d.message_id)
             for d in deliveries.page(ids, args.state or "", max(1, args.limit))]
    print_table(rows)
    return 0
