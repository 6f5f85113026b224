"""Errors of the identity package, each with the HTTP status Keystone would answer.

    IdentityError          (status, title)
    ├── BadAuthRequest     400 Bad Request      a malformed request, or a bad name/role to add
    ├── Unauthorized       401 Unauthorized     no credentials, wrong ones, a token not valid
    ├── Forbidden          403 Forbidden        a member validating someone else's token,
    │                                           or asking for an admin's endpoint
    ├── TokenNotFound      404 Not Found        /auth/tokens: the subject token is not valid
    ├── DomainNotFound     404 Not Found        /domains/{id}: not the one domain, Default
    ├── UnknownUser        404 Not Found        no such user (the CLI, /v3/users)
    ├── UnknownProject     404 Not Found        no such project (/v3/projects)
    ├── UnknownRole        404 Not Found        no such role, or not given (/v3/roles, grants)
    ├── UserExists         409 Conflict         the users file has the name already
    ├── ProjectExists      409 Conflict         a project has the name already
    ├── UsersUnreadable    500 Internal Server Error  the users file cannot be read or parsed
    ├── LoginsThrottled    429 Too Many Requests     too many failed logins of a user or from
    │                                                an address; `retry_after` seconds
    ├── TooManyLogins      503 Service Unavailable   logins queued past the limit
    ├── DirectoryUnavailable 503 Service Unavailable the identity backend (LDAP) cannot be
    │                                                reached; ldap3's errors become this in
    │                                                one place (api.identity.backends.ldap)
    └── KeysMissing        500 Internal Server Error  the key directory is empty or unreadable

`api.identity.routes` is the one place these become Keystone's error body
`{"error": {"code": status, "title": title, "message": message}}`; there a 500's
message (which names server paths) is logged and replaced by a generic one.
Messages never contain a password. The API database failing (revocations,
api.identity.revocation) is celldb's DatabaseUnavailable, which the app's
middleware answers as it answers that error anywhere.
"""

from __future__ import annotations

from pathlib import Path


class IdentityError(Exception):
    status: int = 500
    title: str = "Internal Server Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadAuthRequest(IdentityError):
    status, title = 400, "Bad Request"


class Unauthorized(IdentityError):
    status, title = 401, "Unauthorized"


class Forbidden(IdentityError):
    status, title = 403, "Forbidden"


class TokenNotFound(IdentityError):
    status, title = 404, "Not Found"


class DomainNotFound(IdentityError):
    status, title = 404, "Not Found"


class UnknownUser(IdentityError):
    status, title = 404, "Not Found"


class UnknownProject(IdentityError):
    status, title = 404, "Not Found"


class UnknownRole(IdentityError):
    status, title = 404, "Not Found"


class UserExists(IdentityError):
    status, title = 409, "Conflict"


class ProjectExists(IdentityError):
    status, title = 409, "Conflict"


class UsersUnreadable(IdentityError):
    """The users file exists but cannot be read or is not what `UserStore` writes."""


class TooManyLogins(IdentityError):
    status, title = 503, "Service Unavailable"


class LoginsThrottled(IdentityError):
    """Failed logins past the limit (api.identity.throttle); the answer carries
    Retry-After: `retry_after` whole seconds."""

    status, title = 429, "Too Many Requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DirectoryUnavailable(IdentityError):
    """The directory behind the identity backend did not answer; the message
    names its URL, never a password."""

    status, title = 503, "Service Unavailable"


class KeysMissing(IdentityError):
    """No usable key in the key directory; the message says how to make some."""

    def __init__(self, directory: Path, reason: str) -> None:
        super().__init__(f"no signing keys in {directory} ({reason}): run"
                         f" `cellrouter api-keys init --dir {directory}`")
        self.directory = directory
