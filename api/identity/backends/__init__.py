"""Where users, their passwords and their roles come from: one driver interface,
`IdentityBackend` (base), and its implementations.

    base       the contract: authenticate, a user's account (the user, their
               grants: a user's groups, mapped to projects and roles), the users
               listed (bounded) or found by name, the projects
    file       the users file (api.identity.users), as before there were two
    ldap       an LDAP or Active Directory directory, through ldap3 (read-only)
    loop       LoopBackend: a backend as the event loop calls it (what may block
               runs on threads of its own; writes refused when read-only)
    settings   [identity] and [identity.ldap] of the API config (no ldap3 import)

`open_backend` makes the one the config names; whether identity is writable
is the backend's `writable` (the users file only), checked by `check_writable`.
Revocation is not a backend's business: api.identity.revocation is consulted
by token validation, whatever the backend.
"""

from __future__ import annotations

from api.identity.backends.base import IdentityBackend
from api.identity.backends.file import FileBackend
from api.identity.backends.loop import LoopBackend, check_writable
from api.identity.backends.settings import IdentitySettings
from api.identity.users import UserStore

__all__ = ["IdentityBackend", "LoopBackend", "check_writable", "open_backend"]


def open_backend(settings: IdentitySettings, users: UserStore) -> LoopBackend:
    """The backend `settings` select: the users file, or the directory of
    [identity.ldap] (ldap3 imported only then), behind the event loop's
    contract (its blocking self: `.blocking`). Nothing is contacted yet."""
    if settings.ldap is None:
        return LoopBackend(FileBackend(users))
    from api.identity.backends.ldap import LdapBackend

    return LoopBackend(LdapBackend(settings.ldap, settings.cache_seconds))
