"""[identity] and [identity.ldap] of the API config (api.config reads them here).

    [identity]
    backend = "file"                 # "file": the users file; "ldap": a directory
    cache_seconds = 5                # ldap: how old a directory answer (a user's
                                     # groups, enabled) may be when a token is checked
    failed_logins_per_user = 5       # failed logins in lockout_seconds before 429
    failed_logins_per_address = 20
    lockout_seconds = 60

    [identity.ldap]
    url = "ldap://ldap.example.org"  # ldaps://... for TLS from the start
    use_tls = true                   # StartTLS on ldap://
    tls_cacertfile = "ldap-ca.pem"   # the CA the server's certificate must chain to
    tls_req_cert = "demand"          # "demand" (checked, with its name) or "never"
    user = "cn=cellrouter,ou=services,dc=example,dc=org"   # the service account
    password_file = "ldap-password"  # its password (or password = "...")
    user_tree_dn = "ou=people,dc=example,dc=org"
    user_objectclass = "inetOrgPerson"
    user_filter = ""                 # e.g. "(departmentNumber=cloud)": ANDed into every
                                     # user search (logins, lookups, listings), as Keystone's
    user_id_attribute = "uid"
    user_name_attribute = "uid"
    user_enabled_attribute = ""      # "" : every user found is enabled
    user_enabled_mask = 0            # > 0: disabled when attribute & mask (AD)
    user_password_changed_attribute = ""   # "pwdChangedTime" (OpenLDAP's ppolicy overlay),
                                     # "pwdLastSet" (AD): tokens issued before it are refused
    group_tree_dn = "ou=groups,dc=example,dc=org"
    group_objectclass = "groupOfNames"
    group_member_attribute = "member"  # holds members' DNs
    query_scope = "sub"              # or "one"
    list_limit = 1000                # users listed at most (GET /v3/users, role assignments,
                                     # `cellrouter users list`); past it a listing says
                                     # "truncated": true (and so when the directory's own
                                     # size limit, slapd's 500 by default, stops it first)
    pool_size = 4                    # service connections kept open
    timeout = 3                      # seconds to connect or to wait for an answer

    [[identity.ldap.groups]]         # group DN -> project and role
    dn = "cn=shop-admins,ou=groups,dc=example,dc=org"
    project = "shop"
    role = "admin"

Active Directory (nested groups through the matching rule):

    [identity.ldap]
    url = "ldaps://dc1.example.org"
    tls_cacertfile = "ad-ca.pem"
    user = "CN=cellrouter,OU=Service Accounts,DC=example,DC=org"
    password_file = "ad-password"
    user_tree_dn = "OU=Staff,DC=example,DC=org"
    user_objectclass = "person"
    user_id_attribute = "sAMAccountName"
    user_name_attribute = "sAMAccountName"
    user_enabled_attribute = "userAccountControl"
    user_enabled_mask = 2
    user_password_changed_attribute = "pwdLastSet"
    group_tree_dn = "OU=Groups,DC=example,DC=org"
    group_objectclass = "group"
    group_member_attribute = "member:1.2.840.113556.1.4.1941:"

Relative paths are relative to the config file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.identity.users import ROLES

BACKENDS = ("file", "ldap")
MAX_LIST_LIMIT = 100_000  # each user listed may cost a group search
_IDENTITY_KEYS = {"backend", "cache_seconds", "failed_logins_per_user",
                  "failed_logins_per_address", "lockout_seconds", "ldap"}


@dataclass(frozen=True, slots=True)
class GroupMapping:
    """Members of the group `dn` hold `role` on `project` (whose id is its name)."""

    dn: str
    project: str
    role: str


@dataclass(frozen=True, slots=True)
class LdapSettings:
    url: str
    user: str = ""
    password: str = field(default="", repr=False)
    user_tree_dn: str = ""
    user_objectclass: str = "inetOrgPerson"
    user_filter: str = ""
    user_id_attribute: str = "uid"
    user_name_attribute: str = "uid"
    user_enabled_attribute: str = ""
    user_enabled_mask: int = 0
    user_password_changed_attribute: str = ""
    group_tree_dn: str = ""
    group_objectclass: str = "groupOfNames"
    group_member_attribute: str = "member"
    use_tls: bool = False
    tls_cacertfile: Path | None = None
    tls_req_cert: str = "demand"
    query_scope: str = "sub"
    list_limit: int = 1000
    pool_size: int = 4
    timeout: float = 3.0
    groups: tuple[GroupMapping, ...] = ()


@dataclass(frozen=True, slots=True)
class IdentitySettings:
    """[identity]: `ldap` is None for the users file."""

    ldap: LdapSettings | None = None
    cache_seconds: float = 5.0
    failed_logins_per_user: int = 5
    failed_logins_per_address: int = 20
    lockout_seconds: float = 60.0

    @property
    def backend(self) -> str:
        return "file" if self.ldap is None else "ldap"


def identity_settings_of(table: Mapping[str, Any], base: Path) -> IdentitySettings:
    """[identity] (and its ldap table); ValueError naming the key that is wrong."""
    unknown = sorted(set(table) - _IDENTITY_KEYS)
    if unknown:
        raise ValueError(f"unknown keys in [identity]: {', '.join(unknown)}")
    backend = str(table.get("backend", "file"))
    if backend not in BACKENDS:
        raise ValueError(f"[identity] backend is one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "ldap" and not isinstance(table.get("ldap"), Mapping):
        raise ValueError('[identity] backend = "ldap" needs an [identity.ldap] table')
    settings = IdentitySettings(
        ldap=_ldap(table["ldap"], base) if backend == "ldap" else None,
        cache_seconds=float(table.get("cache_seconds", 5.0)),
        failed_logins_per_user=int(table.get("failed_logins_per_user", 5)),
        failed_logins_per_address=int(table.get("failed_logins_per_address", 20)),
        lockout_seconds=float(table.get("lockout_seconds", 60.0)))
    if not 0 < settings.cache_seconds <= 60:
        raise ValueError("[identity] cache_seconds must be above 0 and at most 60")
    return settings


_LDAP_FIELDS = set(LdapSettings.__dataclass_fields__) - {"groups", "password"}


def _ldap(table: Mapping[str, Any], base: Path) -> LdapSettings:
    unknown = sorted(set(table) - _LDAP_FIELDS - {"groups", "password", "password_file"})
    if unknown:
        raise ValueError(f"unknown keys in [identity.ldap]: {', '.join(unknown)}")
    url = str(table.get("url", ""))
    if not url.startswith(("ldap://", "ldaps://")):
        raise ValueError(f"[identity.ldap] url must be ldap:// or ldaps://, not {url!r}")
    values: dict[str, Any] = {k: table[k] for k in _LDAP_FIELDS if k in table}
    values |= {"password": _password(table, base), "groups": _groups(table.get("groups", ()))}
    if "tls_cacertfile" in table:
        values["tls_cacertfile"] = ca = base / str(table["tls_cacertfile"])
        try:
            ca.read_bytes()
        except OSError as exc:  # said at start, with its name
            raise ValueError(f"[identity.ldap] tls_cacertfile {ca} cannot be read:"
                             f" {exc.strerror or exc}") from None
    settings = LdapSettings(**values)
    if settings.tls_req_cert not in ("demand", "never"):
        raise ValueError('[identity.ldap] tls_req_cert is "demand" or "never"')
    if settings.query_scope not in ("sub", "one"):
        raise ValueError('[identity.ldap] query_scope is "sub" or "one"')
    if settings.user_filter and not (settings.user_filter.startswith("(")
                                     and settings.user_filter.endswith(")")):
        raise ValueError('[identity.ldap] user_filter is "" or one filter in parentheses,'
                         f" not {settings.user_filter!r}")
    if not 1 <= settings.list_limit <= MAX_LIST_LIMIT:
        raise ValueError(f"[identity.ldap] list_limit is from 1 to {MAX_LIST_LIMIT}")
    if not (settings.user_tree_dn and settings.group_tree_dn):
        raise ValueError("[identity.ldap] needs user_tree_dn and group_tree_dn")
    return settings


def _password(table: Mapping[str, Any], base: Path) -> str:
    if "password_file" not in table:
        return str(table.get("password", ""))
    path = base / str(table["password_file"])
    try:
        return path.read_text().rstrip("\r\n")
    except OSError as exc:
        raise ValueError(f"[identity.ldap] password_file {path} cannot be read:"
                         f" {exc.strerror or exc}") from None


def _groups(entries: Any) -> tuple[GroupMapping, ...]:
    found = []
    for entry in entries:
        if not isinstance(entry, Mapping) or set(entry) != {"dn", "project", "role"}:
            raise ValueError("each [[identity.ldap.groups]] has exactly dn, project and role")
        if entry["role"] not in ROLES:
            raise ValueError(f"[[identity.ldap.groups]] role is one of {', '.join(ROLES)},"
                             f" not {entry['role']!r}")
        found.append(GroupMapping(str(entry["dn"]), str(entry["project"]), str(entry["role"])))
    return tuple(found)
