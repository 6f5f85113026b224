"""An identity backend as the API's event loop calls it: the one place that
decides where a backend's calls run.

A backend's contract is synchronous, and a directory's calls wait on the
network: a bind, a search on a cache miss. Run on the event loop, one slow or
down directory would stall every request of the process, the compute ones that
need no directory included. So here:

- what is at hand (`remembered`: the users file, a directory's cached answer)
  and the projects are answered on the loop, at once;
- everything else (a login's hash or bind, a lookup the cache lacks, a
  listing of the users or a lookup by name, whatever the backend) runs on
  threads of the backend's own, at most `backend.threads` at once (LDAP: as
  many as its connection pool), so a stuck directory holds those threads and
  the requests that need it, never the loop, and never a token whose answer is
  cached;
- writes are refused here (`check_writable`) when the backend is read-only.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from api.identity.backends.base import Account, Accounts, IdentityBackend
from api.identity.errors import Forbidden
from api.identity.users import Project, User

READ_ONLY = ("Users, their passwords and their roles come from the {directory} here,"
             " which cellrouter only reads (a role is membership of a directory group that"
             " the API config maps to a project). Change them in the directory; nothing"
             " was changed here.")

_T = TypeVar("_T")


class LoopBackend:
    """`blocking` behind an async contract, for handlers on the event loop.
    Its methods raise what the backend's raise."""

    def __init__(self, blocking: IdentityBackend) -> None:
        self.blocking = blocking
        self._threads = ThreadPoolExecutor(max_workers=max(1, blocking.threads),
                                           thread_name_prefix=f"identity-{blocking.name}")

    @property
    def name(self) -> str:
        return self.blocking.name

    @property
    def external(self) -> bool:
        return self.blocking.external

    async def authenticate(self, name: str, password: str) -> User:
        """The backend's `authenticate`, on a thread (always: a hash or a bind)."""
        return await self._off_loop(self.blocking.authenticate, name, password)

    async def account(self, user_id: str) -> Account:
        """The backend's `account`: at once when remembered, else on a thread."""
        found = self.blocking.remembered(user_id)
        return found if found is not None else await self._off_loop(
            self.blocking.account, user_id)

    async def users(self) -> Accounts:
        """The backend's `users`, on a thread (always: a directory's is a search)."""
        return await self._off_loop(self.blocking.users)

    async def user_by_name(self, name: str) -> Account:
        """The backend's `user_by_name`, on a thread (always: a search)."""
        return await self._off_loop(self.blocking.user_by_name, name)

    def projects(self) -> list[Project]:
        return self.blocking.projects()

    def project_by_id(self, project_id: str) -> Project | None:
        return self.blocking.project_by_id(project_id)

    def project_by_name(self, name: str) -> Project | None:
        return self.blocking.project_by_name(name)

    def check_writable(self) -> None:
        """Forbidden (Keystone's 403, as its read-only LDAP driver answers) unless
        cellrouter may change users, projects and roles: before any change."""
        check_writable(self.blocking)

    def close(self) -> None:
        """Stop taking calls; those running finish on their own."""
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def _off_loop(self, call: Callable[..., _T], *args: str) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, functools.partial(call, *args))


def check_writable(backend: IdentityBackend) -> None:
    """Forbidden, saying where the users come from, unless `backend` is writable."""
    if not backend.writable:
        raise Forbidden(READ_ONLY.format(directory=f"{backend.name.upper()} directory"))
