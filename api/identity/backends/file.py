"""The users file (api.identity.users) behind the backend interface."""

from __future__ import annotations

from api.identity.backends.base import Account
from api.identity.users import Project, User, UserStore

SCRYPT_RUNS = 2  # at once: each is ~50 ms of CPU and 16 MiB; more only contend


class FileBackend:
    """Logins and lookups over a `UserStore`; every change to the file goes
    through cellrouter (the CLI, the admin API), which records a revocation
    with it, so tokens are not checked against the file per request. Lookups
    are a stat and a dictionary: always at hand."""

    name = "file"
    external = False
    writable = True
    cache_seconds = 0.0
    threads = SCRYPT_RUNS

    def __init__(self, users: UserStore) -> None:
        self.users = users

    def authenticate(self, name: str, password: str) -> User:
        return self.users.authenticate(name, password)

    def account(self, user_id: str) -> Account:
        # No password change time: `cellrouter users passwd` records a revocation instead.
        return Account(self.users.user_by_id(user_id),
                       tuple(g for g in self.users.grants() if g.user_id == user_id))

    def remembered(self, user_id: str) -> Account | None:
        return self.account(user_id)

    def projects(self) -> list[Project]:
        return self.users.projects()

    def project_by_id(self, project_id: str) -> Project | None:
        return self.users.project_by_id(project_id)

    def project_by_name(self, name: str) -> Project | None:
        return self.users.project_by_name(name)
