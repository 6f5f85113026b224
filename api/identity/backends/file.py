"""The users file (api.identity.users) behind the backend interface."""

from __future__ import annotations

from api.identity.backends.base import Account, Accounts
from api.identity.users import Grant, Project, User, UserStore

SCRYPT_RUNS = 2  # at once: each is ~50 ms of CPU and 16 MiB; more only contend


class FileBackend:
    """Logins and lookups over a `UserStore` (`store`); every change to the file
    goes through cellrouter (the CLI, the admin API), which records a revocation
    with it, so tokens are not checked against the file per request. Lookups
    are a stat and a dictionary: always at hand. A listing is the whole file
    (in memory already): never truncated."""

    name = "file"
    external = False
    writable = True
    cache_seconds = 0.0
    threads = SCRYPT_RUNS

    def __init__(self, store: UserStore) -> None:
        self.store = store

    def authenticate(self, name: str, password: str) -> User:
        return self.store.authenticate(name, password)

    def account(self, user_id: str) -> Account:
        # No password change time: `cellrouter users passwd` records a revocation instead.
        return Account(self.store.user_by_id(user_id),
                       tuple(g for g in self.store.grants() if g.user_id == user_id))

    def remembered(self, user_id: str) -> Account | None:
        return self.account(user_id)

    def users(self) -> Accounts:
        held: dict[str, list[Grant]] = {}
        for grant in self.store.grants():
            held.setdefault(grant.user_id, []).append(grant)
        return Accounts(tuple(Account(u, tuple(held.get(u.id, ())))
                              for u in self.store.users()))

    def user_by_name(self, name: str) -> Account:
        found = next((u for u in self.store.users() if u.name == name), None)
        return self.account(found.id) if found else Account(None)

    def projects(self) -> list[Project]:
        return self.store.projects()

    def project_by_id(self, project_id: str) -> Project | None:
        return self.store.project_by_id(project_id)

    def project_by_name(self, name: str) -> Project | None:
        return self.store.project_by_name(name)
