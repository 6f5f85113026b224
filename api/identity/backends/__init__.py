"""Where users, their passwords and their roles come from: one driver interface,
`IdentityBackend` (base), and its implementations.

    base       the contract: authenticate, get a user, their grants (a user's
               groups, mapped to projects and roles), the projects
    file       the users file (api.identity.users), as before there were two
    ldap       an LDAP or Active Directory directory, through ldap3
    settings   [identity] and [identity.ldap] of the API config (no ldap3 import)

`open_backend` makes the one the config names. Revocation is not a backend's
business: api.identity.revocation is consulted by token validation, whatever
the backend.
"""

from __future__ import annotations

from api.identity.backends.base import IdentityBackend
from api.identity.backends.file import FileBackend
from api.identity.backends.settings import IdentitySettings
from api.identity.users import UserStore


def open_backend(settings: IdentitySettings, users: UserStore) -> IdentityBackend:
    """The backend `settings` select: the users file, or the directory of
    [identity.ldap] (ldap3 imported only then). Nothing is contacted yet."""
    if settings.ldap is None:
        return FileBackend(users)
    from api.identity.backends.ldap import LdapBackend

    return LdapBackend(settings.ldap, settings.cache_seconds)
