"""The identity backends' pieces without a directory: filter escaping, DN
comparison, [identity] settings (the Active Directory example included), the
users file's enabled flag and password change, and StillHeld over a fake backend."""

from __future__ import annotations

import asyncio
import json
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.identity.backends import open_backend
from api.identity.backends import settings as settings_module
from api.identity.backends.base import Account
from api.identity.backends.file import FileBackend
from api.identity.backends.ldap import (
    LdapBackend,
    changed_moment,
    escape,
    is_enabled,
    normal_dn,
)
from api.identity.backends.settings import IdentitySettings, identity_settings_of
from api.identity.errors import Unauthorized, UnknownUser
from api.identity.revocation import StillHeld
from api.identity.users import Grant, User, UserStore
from cellops import certs

ISSUED = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
LDAP = {"url": "ldap://ldap.example.org", "user_tree_dn": "ou=people,dc=x",
        "group_tree_dn": "ou=groups,dc=x"}


@pytest.mark.parametrize(("value", "escaped"), [
    ("carol", "carol"),
    ("*)(uid=*", r"\2a\29\28uid=\2a"),
    ("a\\b", r"a\5cb"),
    ("nul\0", r"nul\00"),
    ("(*)", r"\28\2a\29"),
], ids=["plain", "injection", "backslash", "nul", "parens"])
def test_filter_values_are_escaped_per_rfc_4515(value: str, escaped: str) -> None:
    assert escape(value) == escaped


def test_dns_compare_without_case_or_spaces() -> None:
    assert normal_dn("CN=Admins, OU=Groups,DC=Example") == "cn=admins,ou=groups,dc=example"


@pytest.mark.parametrize(("value", "mask", "enabled"), [
    ("", 0, True), ("TRUE", 0, True), ("false", 0, False),
    ("512", 2, True), ("514", 2, False), ("junk", 2, False),
], ids=["unset", "true", "false", "ad-normal", "ad-disabled", "ad-junk"])
def test_the_enabled_attribute_reads_as_keystones(value: str, mask: int, enabled: bool) -> None:
    assert is_enabled(value, mask) is enabled


def test_the_default_is_the_users_file(tmp_path: Path) -> None:
    settings = identity_settings_of({}, tmp_path)
    assert settings.backend == "file" and settings.ldap is None
    assert isinstance(open_backend(settings, UserStore(tmp_path / "u.json")).blocking,
                      FileBackend)


def test_an_ldap_table_with_groups_and_a_password_file(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    certs.init_ca(tmp_path, "a CA")
    table = {"backend": "ldap", "cache_seconds": 3, "ldap": LDAP | {
        "password_file": "pw", "use_tls": True, "tls_cacertfile": "ca.pem",
        "groups": [{"dn": "cn=a,ou=groups,dc=x", "project": "ops", "role": "admin"}]}}
    found = identity_settings_of(table, tmp_path)
    assert found.backend == "ldap" and found.cache_seconds == 3 and found.ldap is not None
    assert found.ldap.password == "s3cret" and "s3cret" not in repr(found.ldap)
    assert found.ldap.tls_cacertfile == tmp_path / "ca.pem"
    assert found.ldap.groups[0].role == "admin"
    assert isinstance(open_backend(found, UserStore(tmp_path / "u.json")).blocking,
                      LdapBackend)


def test_the_active_directory_example_of_the_docs_parses(tmp_path: Path) -> None:
    doc = settings_module.__doc__ or ""
    example = doc[doc.index("Active Directory"):].split("\n\n", 2)[1]
    text = "\n".join(line[4:] for line in example.splitlines())
    (tmp_path / "ad-password").write_text("pw")
    (tmp_path / "ad-ca.pem").write_bytes(certs.init_ca(tmp_path / "ca", "AD CA").cert.read_bytes())
    table = tomllib.loads(text)
    found = identity_settings_of({"backend": "ldap", "ldap": table["identity"]["ldap"]}, tmp_path)
    assert found.ldap is not None
    assert found.ldap.user_name_attribute == "sAMAccountName"
    assert found.ldap.user_enabled_mask == 2
    assert found.ldap.group_member_attribute.startswith("member:1.2.840.113556.1.4.1941:")


def test_the_listing_bound_and_user_filter_default_to_keystones_open_search(
        tmp_path: Path) -> None:
    found = identity_settings_of({"backend": "ldap", "ldap": LDAP}, tmp_path).ldap
    assert found is not None and found.list_limit == 1000 and found.user_filter == ""
    table = {"backend": "ldap", "ldap": LDAP | {"user_filter": "(ou=cloud)", "list_limit": 5}}
    found = identity_settings_of(table, tmp_path).ldap
    assert found is not None and (found.user_filter, found.list_limit) == ("(ou=cloud)", 5)


@pytest.mark.parametrize(("table", "says"), [
    ({"backend": "sql"}, "backend is one of file, ldap"),
    ({"backend": "ldap"}, "needs an [identity.ldap] table"),
    ({"backend": "ldap", "ldap": LDAP | {"url": "http://x"}}, "ldap:// or ldaps://"),
    ({"backend": "ldap", "ldap": LDAP | {"tls_req_cert": "allow"}}, "tls_req_cert"),
    ({"backend": "ldap", "ldap": LDAP | {"groups": [{"dn": "x", "project": "p",
                                                     "role": "owner"}]}}, "role is one of"),
    ({"backend": "ldap", "ldap": LDAP | {"password_file": "missing"}}, "cannot be read"),
    ({"backend": "ldap", "ldap": LDAP | {"tls_cacertfile": "none.pem"}}, "none.pem cannot"),
    ({"bakend": "file"}, "unknown keys in [identity]: bakend"),
    ({"cache_seconds": 0}, "cache_seconds"),
    ({"backend": "ldap", "ldap": LDAP | {"user_filter": "uid=x"}}, "user_filter is"),
    ({"backend": "ldap", "ldap": LDAP | {"list_limit": 0}}, "list_limit is from 1"),
], ids=["backend", "no-table", "url", "req-cert", "role", "password-file", "ca-file", "typo",
         "bound", "user-filter", "list-limit"])
def test_bad_identity_settings_say_what_is_wrong(tmp_path: Path, table: dict[str, object],
                                                 says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        identity_settings_of(table, tmp_path)


def test_a_disabled_user_cannot_log_in_and_the_file_stays_readable(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    store = UserStore(path)
    store.add("ann", "shop", "member", "pw")
    assert "enabled" not in json.loads(path.read_text())["users"][0]  # as before
    store.set_enabled("ann", False)
    assert json.loads(path.read_text())["users"][0]["enabled"] is False
    with pytest.raises(Unauthorized):
        UserStore(path).authenticate("ann", "pw")
    store.set_enabled("ann", True)
    assert store.authenticate("ann", "pw").enabled
    with pytest.raises(UnknownUser):
        store.set_enabled("nobody", False)


def test_a_new_password_replaces_the_old(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.json")
    store.add("ann", "shop", "member", "old")
    store.set_password("ann", "new")
    assert store.authenticate("ann", "new").name == "ann"
    with pytest.raises(Unauthorized):
        store.authenticate("ann", "old")


class FakeDirectory:
    """What StillHeld asks, with answers a test sets."""

    def __init__(self) -> None:
        self.users = {"u1": User("u1", "ann", "shop", "admin", "")}
        self.grants = {"u1": (Grant("u1", "shop", "admin"),)}
        self.changed: float | None = None

    async def account(self, user_id: str) -> Account:
        return Account(self.users.get(user_id), self.grants.get(user_id, ()), self.changed)


@pytest.mark.parametrize(("change", "role", "refused"), [
    ("nothing", "admin", False),
    ("gone", "member", True),
    ("disabled", "member", True),
    ("lower-role", "admin", True),
    ("lower-role", "member", False),  # a member's token: admin implied member, member is held
    ("other-project", "member", True),
    ("password-changed", "member", True),
    ("password-changed-before", "member", False),
], ids=["nothing", "gone", "disabled", "admin-lost", "member-kept", "other-project",
        "password-changed", "password-changed-before"])
def test_still_held_refuses_a_token_whose_access_ended(change: str, role: str,
                                                      refused: bool) -> None:
    directory = FakeDirectory()
    if change == "gone":
        directory.users.clear()
    elif change == "disabled":
        directory.users["u1"] = User("u1", "ann", "shop", "admin", "", enabled=False)
    elif change == "lower-role":
        directory.grants["u1"] = (Grant("u1", "shop", "member"),)
    elif change == "other-project":
        directory.grants["u1"] = (Grant("u1", "lab", "admin"),)
    elif change.startswith("password-changed"):
        directory.changed = ISSUED.timestamp() + (1 if change == "password-changed" else -1)
    check = StillHeld(directory)
    if refused:
        with pytest.raises(Unauthorized, match="revoked"):
            asyncio.run(check.check("u1", "shop", role, ISSUED))
    else:
        asyncio.run(check.check("u1", "shop", role, ISSUED))


@pytest.mark.parametrize(("value", "moment"), [
    ("20261204114602Z", datetime(2026, 12, 4, 11, 46, 3, tzinfo=UTC).timestamp()),
    ("20261204114602.250000Z", datetime(2026, 12, 4, 11, 46, 2, 250000, tzinfo=UTC).timestamp()),
    ("134095199620000000", datetime(2025, 12, 6, 18, 39, 22, tzinfo=UTC).timestamp()),
    ("0", None), ("", None), ("yesterday", None),
], ids=["generalized", "fraction", "filetime", "ad-must-change", "none", "garbage"])
def test_password_change_times_are_read_rounded_up(value: str, moment: float | None) -> None:
    found = changed_moment(value)
    assert found == pytest.approx(moment) if moment is not None else found is None


def test_identity_settings_default_bound_is_five_seconds() -> None:
    assert IdentitySettings().cache_seconds == 5.0
