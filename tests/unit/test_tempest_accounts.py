"""The Tempest harness's accounts, as Tempest's own credential provider hands them out.

Multi-tenant tests (another tenant's server is 404 to the alt persona) need a
class's alt in another project than its primary; readers and managers in
the primary's. Workers take personas in any order and hold them while their
class runs, so this plays many classes on several workers with the pinned
Tempest's PreProvisionedCredentialProvider and checks every allocation.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from oslo_concurrency import lockutils
from tempest.lib import auth
from tempest.lib.common import preprov_creds

from tests.tempest_run import workspace

PERSONAS = ("primary", "alt", "reader", "manager", "admin")


class Provider(preprov_creds.PreProvisionedCredentialProvider):
    """Tempest's provider, allocating as it does, without looking up each
    account's network on a live API (what it wraps the credentials with)."""

    def _wrap_creds_with_network(self, hash: str) -> auth.Credentials:
        creds = self._extend_credentials(self.hash_dict["creds"][hash])
        return auth.get_credentials(auth_url=None, fill_in=False,
                                    identity_version=self.identity_version, **creds)


def _take(provider: Provider, persona: str) -> str:
    """The project of the account `persona` gets."""
    creds = {"primary": provider.get_primary_creds, "alt": provider.get_alt_creds,
             "reader": provider.get_project_reader_creds,
             "manager": provider.get_project_manager_creds,
             "admin": provider.get_admin_creds}[persona]()
    return str(creds.project_name)


@pytest.mark.parametrize("concurrency", [1, 2, 3])
def test_every_persona_is_found_and_alt_is_never_in_the_primarys_project(
        tmp_path: Path, concurrency: int) -> None:
    """Three accounts files (Tempest orders the members by a hash of each
    account, passwords included: each file is another order), 40 classes each."""
    rng = random.Random(concurrency)
    checked = 0
    for n in range(3):
        lockutils.set_defaults(str(tmp_path / f"locks-{n}"))
        accounts = tmp_path / f"accounts-{n}.yaml"
        workspace.write_accounts(accounts, workspace.accounts_for(concurrency))
        running: list[Provider] = []
        for _ in range(40):
            if len(running) == concurrency:  # a worker's class ends: its accounts go back
                running.pop(rng.randrange(len(running))).clear_creds()
            provider = Provider(identity_version="v3", test_accounts_file=str(accounts),
                                accounts_lock_dir=str(tmp_path / f"taken-{n}"),
                                admin_role="admin", name=f"class-{checked}")
            personas = rng.sample(PERSONAS, rng.randint(2, len(PERSONAS)))
            if "primary" not in personas:
                personas.append("primary")
            projects = {persona: _take(provider, persona) for persona in personas}
            if "alt" in projects:
                assert projects["alt"] != projects["primary"], projects
            for same in ("reader", "manager"):
                if same in projects:
                    assert projects[same] == projects["primary"], projects
            running.append(provider)
            checked += 1
    assert checked == 120
