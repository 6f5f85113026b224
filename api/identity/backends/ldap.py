"""Users and their roles from an LDAP directory (OpenLDAP, Active Directory), through ldap3.

A user is an entry of `user_objectclass` under `user_tree_dn` (that
`user_filter`, if any, matches); their id and name are the attributes
`user_id_attribute` and `user_name_attribute`: the id is what their tokens
carry and what Keystone's admin reads show. Their
roles come from the groups (`group_objectclass` under `group_tree_dn`) whose
`group_member_attribute` names their DN, through the API config's mapping
(group DN -> project and role; a project's id is its name). So adding a person
to a group in the directory is all it takes.

- Passwords are checked by binding as the user's DN, on a connection of its
  own; the directory is never asked for a hash. An empty password is refused
  before any bind (LDAP would take it as an anonymous bind, which succeeds).
- Every value put in a filter is escaped per RFC 4515 (`escape`), so a name
  such as `*)(uid=*` matches nobody.
- Searches run on the service account's connections, kept open in a small pool
  (`pool_size`); when one fails, the idle ones are dropped too and the search
  is tried once more on a new connection.
- TLS: ldaps:// or StartTLS (`use_tls`), the server's certificate checked
  against `tls_cacertfile` and its name (tls_req_cert = "demand").
- A user's answer (enabled, groups, when their password changed) is kept
  `cache_seconds` (5 by default) for token checks: no round trip per request,
  and someone taken out of a group loses its role within that bound, as do
  tokens issued before a password change (`user_password_changed_attribute`:
  OpenLDAP's pwdChangedTime, whole seconds, so a token issued in the second of
  the change is refused too; AD's pwdLastSet). A login always asks afresh.
- Listing the users (Keystone's admin reads, `cellrouter users list`) is one
  search under `user_tree_dn` bounded by `list_limit` (the directory's own size
  limit may stop it sooner: either way the listing says it is truncated), then
  each user's groups as a token check finds them, a search per user whose
  answer is not cached, and cached in turn.
- ldap3's errors become DirectoryUnavailable (503) here and only here; while
  the directory is down, lookups fail at once for `RETRY_AFTER_FAILURE`
  seconds instead of waiting for each timeout again.
- Every call but `remembered` may wait on the network: the API makes them
  through backends.loop.LoopBackend, on `threads` (= pool_size) threads of
  their own, never on the event loop.
- Read-only (`writable` False), as Keystone's LDAP driver: the admin API and
  `cellrouter users` refuse to change users, projects or roles (403).
"""

from __future__ import annotations

import contextlib
import queue
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import ldap3
from cachetools import TTLCache
from ldap3.core.exceptions import LDAPBindError, LDAPException

from api.identity.backends.base import Account, Accounts
from api.identity.backends.settings import GroupMapping, LdapSettings
from api.identity.errors import DirectoryUnavailable, Unauthorized
from api.identity.users import AUTH_FAILED, Grant, Project, User, highest

RETRY_AFTER_FAILURE = 1.0  # seconds
CACHED_USERS = 10_000
_OK_RESULTS = (0, 32)  # success, noSuchObject (an empty tree)
_SIZE_LIMIT_EXCEEDED = 4  # the entries up to the limit come with it
_FILETIME_EPOCH = 11_644_473_600  # seconds from 1601-01-01 to 1970-01-01
_ESCAPES = {"\\": r"\5c", "*": r"\2a", "(": r"\28", ")": r"\29", "\0": r"\00"}


def escape(value: str) -> str:
    """`value` fit for an LDAP filter's assertion value (RFC 4515)."""
    return "".join(_ESCAPES.get(c, c) for c in value)


def changed_moment(value: str) -> float | None:
    """A password change time as seconds since the epoch, rounded up to the
    value's resolution: LDAP generalized time ("20261204114602Z", whole seconds
    unless a fraction is given) or AD's FILETIME (100 ns ticks since 1601); None
    for nothing or what is neither."""
    if value.isdigit() and len(value) > 14:  # AD: pwdLastSet (0: must change at next logon)
        ticks = int(value)
        return ticks / 10_000_000 - _FILETIME_EPOCH if ticks else None
    try:
        whole = datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None
    fraction = value[14:].rstrip("Zz")
    if fraction.startswith((".", ",")) and fraction[1:].isdigit():
        return whole + float("0." + fraction[1:])
    return whole + 1.0  # the change was somewhere in that second


def is_enabled(value: str, mask: int) -> bool:
    """Keystone's rule for the enabled attribute's `value`: none is enabled; with
    a mask (AD's userAccountControl, 2) a set bit is disabled; else a true-ish
    value is enabled."""
    if not value:
        return True
    if mask:
        return value.lstrip("-").isdigit() and not int(value) & mask
    return value.lower() in ("true", "1", "yes")


def normal_dn(dn: str) -> str:
    """A DN compared as directories do: case and spaces around commas ignored."""
    return ",".join(part.strip() for part in dn.split(",")).lower()


class LdapBackend:
    """The identity backend over an LDAP directory; `clock` (monotonic seconds)
    times the cache. Thread-safe; every method may raise DirectoryUnavailable."""

    name = "ldap"
    external = True
    writable = False  # as Keystone's LDAP driver: the directory is changed with its own tools

    def __init__(self, settings: LdapSettings, cache_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.cache_seconds = cache_seconds
        self.threads = max(1, settings.pool_size)  # blocking calls at once, as connections
        self._clock = clock
        self._down_until = float("-inf")
        with self._directory():  # a CA file ldap3 cannot load
            self._server = _server(settings)
        self._pool = _Pool(lambda: self._connect(settings.user, settings.password),
                           settings.pool_size)
        self._cache: TTLCache[str, Account] = TTLCache(CACHED_USERS, cache_seconds, timer=clock)
        self._lock = threading.Lock()
        self._groups: dict[str, list[GroupMapping]] = {}
        for mapping in settings.groups:
            self._groups.setdefault(normal_dn(mapping.dn), []).append(mapping)
        self._projects = {m.project: Project(m.project, m.project) for m in settings.groups}

    # ------------------------------------------------------------ the contract

    def authenticate(self, name: str, password: str) -> User:
        if not name or not password:
            raise Unauthorized(AUTH_FAILED)
        entry = self._find(self.settings.user_name_attribute, name)
        if entry is None:
            raise Unauthorized(AUTH_FAILED)
        self._bind_as(entry["dn"], password)
        account = self._account(entry)
        if account.user is None or not account.user.enabled:
            raise Unauthorized(AUTH_FAILED)
        with self._lock:
            self._cache[account.user.id] = account
        return account.user

    def account(self, user_id: str) -> Account:
        found = self.remembered(user_id)
        if found is None:
            entry = self._find(self.settings.user_id_attribute, user_id)
            found = Account(None) if entry is None else self._account(entry)
            with self._lock:
                self._cache[user_id] = found
        return found

    def users(self) -> Accounts:
        s = self.settings
        entries, truncated = self._search(s.user_tree_dn, self._user_query(),
                                          self._user_attributes(), s.list_limit + 1)
        if len(entries) > s.list_limit:
            entries, truncated = entries[:s.list_limit], True
        members = self._members() if any(self._uncached(e) for e in entries) else {}
        found = (self._listed(entry, members) for entry in entries)
        return Accounts(tuple(a for a in found if a.user is not None), truncated)

    def user_by_name(self, name: str) -> Account:
        entry = self._find(self.settings.user_name_attribute, name)
        return Account(None) if entry is None else self._remember(self._account(entry))

    def remembered(self, user_id: str) -> Account | None:
        with self._lock:
            return self._cache.get(user_id)

    def projects(self) -> list[Project]:
        return list(self._projects.values())

    def project_by_id(self, project_id: str) -> Project | None:
        return self._projects.get(project_id)

    def project_by_name(self, name: str) -> Project | None:
        return self._projects.get(name)

    def close(self) -> None:
        self._pool.close()

    # ------------------------------------------------------------ the directory

    def _find(self, attribute: str, value: str) -> dict[str, Any] | None:
        """The one user entry whose `attribute` is `value`; None for none or several."""
        query = self._user_query(f"({attribute}={escape(value)})")
        found, _ = self._search(self.settings.user_tree_dn, query, self._user_attributes())
        return found[0] if len(found) == 1 else None

    def _user_query(self, condition: str = "") -> str:
        """Users (of the object class, passing `user_filter`) meeting `condition`."""
        s = self.settings
        return f"(&(objectClass={s.user_objectclass}){s.user_filter}{condition})"

    def _user_attributes(self) -> list[str]:
        s = self.settings
        wanted = [s.user_id_attribute, s.user_name_attribute]
        return wanted + [a for a in (s.user_enabled_attribute,
                                     s.user_password_changed_attribute) if a]

    def _uncached(self, entry: dict[str, Any]) -> bool:
        ident = _first(entry["attributes"].get(self.settings.user_id_attribute))
        cached = self.remembered(ident) if ident else None
        return cached is None or cached.user is None

    def _listed(self, entry: dict[str, Any], members: dict[str, set[str]]) -> Account:
        """A listed entry's account: the cached one (a user found then), else
        made with the mapped groups' `members` (read once for the listing)."""
        if not self._uncached(entry):
            ident = _first(entry["attributes"].get(self.settings.user_id_attribute))
            return self.remembered(ident) or Account(None)
        dn = normal_dn(entry["dn"])
        return self._remember(self._account(
            entry, [group for group, dns in members.items() if dn in dns]))

    def _members(self) -> dict[str, set[str]]:
        """Each mapped group's members (normalised DNs), in one search of the groups."""
        s = self.settings
        found, _ = self._search(s.group_tree_dn, f"(objectClass={s.group_objectclass})",
                                [s.group_member_attribute])
        members: dict[str, set[str]] = {}
        for group in found:
            dn = normal_dn(group["dn"])
            if dn in self._groups:
                values = group["attributes"].get(s.group_member_attribute) or []
                members[dn] = {normal_dn(str(v)) for v in
                               (values if isinstance(values, list) else [values])}
        return members

    def _remember(self, account: Account) -> Account:
        if account.user is not None:
            with self._lock:
                self._cache[account.user.id] = account
        return account

    def _account(self, entry: dict[str, Any], groups: list[str] | None = None) -> Account:
        """The entry's account; its project and role from `groups` (the DNs of
        the groups it is a member of), searched for when not given."""
        s = self.settings
        attributes = entry["attributes"]
        if groups is None:
            query = (f"(&(objectClass={s.group_objectclass})"
                     f"({s.group_member_attribute}={escape(entry['dn'])}))")
            groups = [found["dn"] for found in self._search(s.group_tree_dn, query, [])[0]]
        ident = _first(attributes.get(s.user_id_attribute))
        grants = tuple(dict.fromkeys(
            Grant(ident, m.project, m.role) for dn in groups
            for m in self._groups.get(normal_dn(dn), ())))
        project = grants[0].project_id if grants else ""
        role = highest([g.role for g in grants if g.project_id == project])
        user = User(ident, _first(attributes.get(s.user_name_attribute)), project, role, "",
                    self._enabled(attributes))
        changed = (changed_moment(_first(attributes.get(s.user_password_changed_attribute)))
                   if s.user_password_changed_attribute else None)
        return Account(user if ident else None, grants if ident else (), changed)

    def _enabled(self, attributes: Any) -> bool:
        s = self.settings
        value = _first(attributes.get(s.user_enabled_attribute)) if s.user_enabled_attribute else ""
        return is_enabled(value, s.user_enabled_mask)

    def _search(self, base: str, query: str, attributes: list[str],
                size_limit: int = 0) -> tuple[list[dict[str, Any]], bool]:
        """The entries found, on a pooled connection (a broken one is replaced
        once), and whether a size limit stopped the search: `size_limit` (0:
        none of ours) or, when one is given, the directory's own (without one
        that is an error: a lookup must not miss an entry)."""
        s = self.settings
        allowed = (*_OK_RESULTS, _SIZE_LIMIT_EXCEEDED) if size_limit else _OK_RESULTS
        scope = ldap3.SUBTREE if s.query_scope == "sub" else ldap3.LEVEL
        with self._directory():
            for attempt in (1, 2):
                try:
                    with self._pool.connection() as conn:
                        conn.search(base, query, search_scope=scope,
                                    attributes=attributes or ldap3.NO_ATTRIBUTES,
                                    size_limit=size_limit, time_limit=max(1, int(s.timeout)))
                        result = conn.result or {}
                        if result.get("result") not in allowed:
                            raise LDAPException(f"search failed: {result.get('description')}")
                        found = [r for r in conn.response or ()
                                 if r.get("type") == "searchResEntry"]
                        return found, result.get("result") == _SIZE_LIMIT_EXCEEDED
                except LDAPException:
                    self._pool.close()  # the idle ones are likely as broken
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def _bind_as(self, dn: str, password: str) -> None:
        """Unauthorized unless `password` is the entry's (a bind on a new connection)."""
        with self._directory():
            try:
                self._connect(dn, password).unbind()
            except LDAPBindError:
                raise Unauthorized(AUTH_FAILED) from None

    def _connect(self, user: str, password: str) -> Any:
        s = self.settings
        starttls = s.use_tls and not s.url.startswith("ldaps://")
        return ldap3.Connection(
            self._server, user=user or None, password=password or None, read_only=True,
            auto_bind=ldap3.AUTO_BIND_TLS_BEFORE_BIND if starttls else ldap3.AUTO_BIND_NO_TLS,
            receive_timeout=s.timeout, raise_exceptions=False, client_strategy=ldap3.SYNC)

    @contextlib.contextmanager
    def _directory(self) -> Iterator[None]:
        """The one translation of ldap3's errors; fails at once while recently down."""
        if self._clock() < self._down_until:
            raise DirectoryUnavailable(f"the directory at {self.settings.url} is not answering")
        try:
            yield
        except LDAPException as exc:
            self._down_until = self._clock() + RETRY_AFTER_FAILURE
            raise DirectoryUnavailable(f"the directory at {self.settings.url} did not answer:"
                                       f" {type(exc).__name__}: {exc}") from exc


class _Pool:
    """Up to `size` bound connections kept for reuse; one is made when none is idle."""

    def __init__(self, connect: Callable[[], Any], size: int) -> None:
        self._connect = connect
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._size = max(1, size)

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            yield conn
        except BaseException:
            _drop(conn)
            raise
        if self._idle.qsize() < self._size:
            self._idle.put(conn)
        else:
            _drop(conn)

    def close(self) -> None:
        while True:
            try:
                _drop(self._idle.get_nowait())
            except queue.Empty:
                return


def _drop(conn: Any) -> None:
    with contextlib.suppress(LDAPException, OSError):
        conn.unbind()


def _server(s: LdapSettings) -> Any:
    secure = s.url.startswith("ldaps://")
    tls = None
    if secure or s.use_tls:
        tls = ldap3.Tls(
            validate=ssl.CERT_REQUIRED if s.tls_req_cert == "demand" else ssl.CERT_NONE,
            ca_certs_file=str(s.tls_cacertfile) if s.tls_cacertfile else None)
    return ldap3.Server(s.url, use_ssl=secure, tls=tls, connect_timeout=s.timeout,
                        get_info=ldap3.NONE)


def _first(value: Any) -> str:
    """An attribute's first value as a string ("" for none)."""
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return "" if value is None else str(value)
