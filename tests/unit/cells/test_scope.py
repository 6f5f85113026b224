"""Tests for cells.security.scope.narrow: a caller acting for one project."""

from __future__ import annotations

import pytest

from cells.security.scope import narrow
from model.call import ACT_FOR_KEY
from model.errors import PermissionDenied
from model.principal import EVERYONE, Principal

ADMIN = Principal("t1", "", "admin")
MEMBER = Principal("t2", "acme", "member")


@pytest.mark.parametrize(("who", "metadata", "expected"), [
    (ADMIN, {}, ADMIN),
    # A narrowed admin vouches for what it bound (the API's ports): still a member.
    (EVERYONE, {ACT_FOR_KEY: "acme"}, Principal("@acme", "acme", "member", vouched=True)),
    (ADMIN, {ACT_FOR_KEY: "acme"}, Principal("t1@acme", "acme", "member", vouched=True)),
    (MEMBER, {ACT_FOR_KEY: "acme"}, MEMBER),
    (MEMBER, {}, MEMBER),
], ids=["admin-untouched", "everyone-narrowed", "admin-narrowed", "member-own-project",
        "member-untouched"])
def test_narrowing_only_takes_rights_away(
        who: Principal, metadata: dict[str, str], expected: Principal) -> None:
    assert narrow(who, metadata) == expected


@pytest.mark.parametrize("metadata", [{ACT_FOR_KEY: "other"}, {ACT_FOR_KEY: ""}],
                         ids=["another-project", "no-project"])
def test_a_member_cannot_widen_itself(metadata: dict[str, str]) -> None:
    with pytest.raises(PermissionDenied):
        narrow(MEMBER, metadata)
