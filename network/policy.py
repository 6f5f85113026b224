"""Who may do what, as Neutron's default policy says it (a subset): members
act within their project and see shared networks; provider attributes,
sharing, bindings and statuses are admins'."""

from __future__ import annotations

from network.errors import NotAuthorized
from network.resources import Caller


def refused(rule: str) -> NotAuthorized:
    """Neutron's words for a rule that said no."""
    return NotAuthorized(f"({rule}) is disallowed by policy")


def project_for(caller: Caller, asked: str, action: str) -> str:
    """The project a new resource is made for: the caller's, unless an admin names another."""
    if asked and asked != caller.project and not caller.admin:
        raise refused(f"rule:{action}:project_id")
    return asked or caller.project


def admin_only(caller: Caller, rule: str, asked: bool) -> None:
    """NotAuthorized when a member `asked` for what `rule` gives admins only."""
    if asked and not caller.admin:
        raise refused(f"rule:{rule}")
