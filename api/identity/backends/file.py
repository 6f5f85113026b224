"""The users file (api.identity.users) behind the backend interface."""

from __future__ import annotations

from api.identity.users import Grant, Project, User, UserStore


class FileBackend:
    """Logins and lookups over a `UserStore`; every change to the file goes
    through cellrouter (the CLI, the admin API), which records a revocation
    with it, so tokens are not checked against the file per request."""

    name = "file"
    external = False
    cache_seconds = 0.0

    def __init__(self, users: UserStore) -> None:
        self.users = users

    def authenticate(self, name: str, password: str) -> User:
        return self.users.authenticate(name, password)

    def get_user(self, user_id: str) -> User | None:
        return self.users.user_by_id(user_id)

    def grants_of(self, user_id: str) -> tuple[Grant, ...]:
        return tuple(g for g in self.users.grants() if g.user_id == user_id)

    def password_changed_at(self, user_id: str) -> float | None:
        return None  # `cellrouter users passwd` records a revocation instead

    def projects(self) -> list[Project]:
        return self.users.projects()

    def project_by_id(self, project_id: str) -> Project | None:
        return self.users.project_by_id(project_id)

    def project_by_name(self, name: str) -> Project | None:
        return self.users.project_by_name(name)
