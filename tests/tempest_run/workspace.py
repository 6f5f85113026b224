"""A Tempest workspace for one API: `etc/tempest.conf`, `etc/accounts.yaml`, `.stestr.conf`.

    WS/.stestr.conf         where stestr finds Tempest's tests (as `tempest init` writes it)
    WS/etc/tempest.conf     the cloud as the API serves it today
    WS/etc/accounts.yaml    the pre-provisioned accounts (classes that force a project of
                            their own have [auth]'s admin make one: dynamic credentials)
    WS/tempest.log          every request Tempest made (the report reads it)
    WS/lock/                Tempest's locks, and which accounts are taken

The feature flags say what the API does: a flag is on only when the API
serves it (`Features`), and what is not built is off here, never left out
of the run by a regular expression. Tempest then skips its tests with the
flag's name as the reason, so the report shows what is missing.
"""

from __future__ import annotations

import configparser
import io
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import tempest
import yaml

# The members' projects: a class's primary, reader and manager personas are
# taken from one of them, chosen by Tempest among the free accounts.
PROJECTS = tuple(f"tempest-{letter}" for letter in "abcdef")
ADMIN_PROJECT = "tempest-admin"


@dataclass(frozen=True, slots=True)
class Account:
    """A user the API knows, as Tempest's accounts file names it."""

    name: str
    project: str
    role: str  # the API's: member, manager or admin
    password: str = field(repr=False)
    alt: bool = False  # kept for Tempest's alt persona (see alt_projects)

    def entry(self) -> dict[str, object]:
        """Its accounts.yaml entry. A member's token carries "reader" as well
        (api.identity.routes: roles are implied), so members serve Tempest's
        reader persona too; an admin is of Tempest's admin type. Each names
        its project's network (`network_name`), which servers boot on."""
        entry: dict[str, object] = {"username": self.name, "project_name": self.project,
                                    "password": self.password, "domain_name": "Default",
                                    "resources": {"network": network_name(self.project)}}
        if self.alt:
            return entry  # no roles: only the alt persona takes it (see alt_projects)
        if self.role == "admin":
            return entry | {"roles": ["admin"], "types": ["admin"]}
        if self.role == "manager":
            # Its token is a member's and a reader's too (Keystone 2024.1's implied
            # roles), but the file says manager only: Tempest then never gives a
            # manager to a class's primary or reader, which would leave its
            # project_manager persona none.
            return entry | {"roles": ["manager"]}
        return entry | {"roles": ["member", "reader"]}


def network_name(project: str) -> str:
    """The network the harness makes for `project` before Tempest runs."""
    return f"{project}-net"


def alt_projects(concurrency: int) -> tuple[str, ...]:
    """Projects whose one member is only ever a class's `alt` persona.

    Tempest gives `alt` the first free account of the file that is not an
    admin, whatever its project, while it chooses the primary among the
    members by a hash order; multi-tenant tests (another tenant's server is
    404 to alt) need the two in different projects. So the file opens with
    accounts that carry no role in accounts.yaml (the API still makes them
    members): no role-based persona ever takes one, and each worker holds at
    most one alt at a time, so one more than the workers always leaves a free
    one ahead of every member of the file."""
    return tuple(f"tempest-alt-{n}" for n in range(1, concurrency + 2))


def accounts_for(concurrency: int) -> list[Account]:
    """Enough accounts that `concurrency` workers never wait for one, in
    whatever order their classes ask for personas: a class holds at most a
    primary, an alt, a reader and a manager of one project, and an admin.
    The alt accounts come first (see alt_projects), then members round the
    projects, then managers (Tempest's project_manager persona), admins last.
    A member serves a primary or a reader, so two per worker in every project
    leave each class both even when all workers are in one project."""
    per_project = 2 * concurrency
    alts = [Account(f"{project}-member", project, "member", secrets.token_urlsafe(12),
                    alt=True) for project in alt_projects(concurrency)]
    members = [Account(f"{project}-{n}", project, "member", secrets.token_urlsafe(12))
               for n in range(1, per_project + 1) for project in PROJECTS]
    members += [Account(f"{project}-manager-{n}", project, "manager",
                        secrets.token_urlsafe(12))
                for n in range(1, per_project + 1) for project in PROJECTS]
    admins = [Account(f"tempest-admin-{n}", ADMIN_PROJECT, "admin", secrets.token_urlsafe(12))
              for n in range(1, concurrency + 2)]
    return alts + members + admins


def write_accounts(path: Path, accounts: list[Account]) -> None:
    """Tempest's accounts.yaml, in the order `accounts_for` gives (it matters)."""
    path.write_text(yaml.safe_dump([a.entry() for a in accounts], sort_keys=False))


@dataclass(frozen=True, slots=True)
class Cloud:
    """What tempest.conf says of the API under test."""

    auth_url: str  # the identity base: AUTH_URL/v3 is Keystone v3
    region: str
    images: tuple[str, str]  # image_ref, image_ref_alt (ids)
    flavors: tuple[str, str]  # flavor_ref, flavor_ref_alt (ids); alt is the larger
    max_microversion: str
    compute_nodes: int
    features: Mapping[str, bool]  # [compute-feature-enabled]
    scheduler_filters: tuple[str, ...]  # Nova's names of the filters hints reach
    network_extensions: tuple[str, ...]  # the Networking API's, as it lists them


def write(directory: Path, cloud: Cloud, accounts: list[Account]) -> Path:
    """Make the workspace in `directory`; returns the tempest.conf written."""
    etc = directory / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    (directory / "lock").mkdir(exist_ok=True)
    write_accounts(etc / "accounts.yaml", accounts)
    conf = etc / "tempest.conf"
    admin = next(a for a in accounts if a.role == "admin")
    conf.write_text(conf_text(directory, cloud, admin))
    tempest_dir = Path(tempest.__file__).parent
    (directory / ".stestr.conf").write_text(
        f"[DEFAULT]\ntest_path={tempest_dir / 'test_discover'}\n"
        f"top_dir={tempest_dir.parent}\ngroup_regex=([^\\.]*\\.)*\n")
    return conf


def conf_text(directory: Path, cloud: Cloud, admin: Account) -> str:
    """tempest.conf for `cloud`, with the workspace's files under `directory`.
    `admin` is [auth]'s admin: classes that force a project of their own
    (force_tenant_isolation) ask it to make one."""
    conf = configparser.ConfigParser(interpolation=None)
    conf.read_dict({
        "DEFAULT": {"log_file": str(directory / "tempest.log"), "debug": "false"},
        "oslo_concurrency": {"lock_path": str(directory / "lock")},
        "auth": {"use_dynamic_credentials": "false",
                 "test_accounts_file": str(directory / "etc" / "accounts.yaml"),
                 "default_credentials_domain_name": "Default",
                 "create_isolated_networks": "false",
                 "admin_username": admin.name, "admin_password": admin.password,
                 "admin_project_name": admin.project, "admin_domain_name": "Default"},
        "identity": {"uri_v3": f"{cloud.auth_url}/v3", "auth_version": "v3",
                     "region": cloud.region, "v3_endpoint_type": "public",
                     "default_domain_id": "default", "disable_ssl_certificate_validation":
                     "false"},
        "identity-feature-enabled": {"api_v2": "false", "api_v3": "true", "trust": "false",
                                     "application_credentials": "false",
                                     "access_rules": "false", "project_tags": "false",
                                     "security_compliance": "false"},
        "compute": {"region": cloud.region, "endpoint_type": "publicURL",
                    "image_ref": cloud.images[0], "image_ref_alt": cloud.images[1],
                    "flavor_ref": cloud.flavors[0], "flavor_ref_alt": cloud.flavors[1],
                    "min_microversion": "2.1", "max_microversion": cloud.max_microversion,
                    "build_timeout": "120", "build_interval": "1",
                    # No fixed_network_name: each account names its project's network.
                    "min_compute_nodes": str(cloud.compute_nodes),
                    # The tree never offloads a shelved server by itself (Nova's
                    # shelved_offload_time -1): Tempest then asks for the offload.
                    "shelved_offload_time": "-1"},
        "compute-feature-enabled": {
            **{name: _flag(on) for name, on in sorted(cloud.features.items())},
            "scheduler_enabled_filters": ",".join(cloud.scheduler_filters)},
        "image": {"region": cloud.region, "endpoint_type": "publicURL"},
        "image-feature-enabled": {"api_v1": "false", "api_v2": "true"},
        "service_available": {"nova": "true", "glance": "true", "neutron": "true",
                              "cinder": "false", "swift": "false"},
        # The Networking API: no routers, floating IPs, IPv6 subnets or port
        # security; tenant networks are not reachable from where Tempest runs.
        "network": {"region": cloud.region, "endpoint_type": "publicURL",
                    "project_network_cidr": "10.100.0.0/16", "project_network_mask_bits": "24",
                    "project_networks_reachable": "false", "shared_physical_network": "false"},
        "network-feature-enabled": {
            "api_extensions": ",".join(cloud.network_extensions) or "None",
            "ipv6": "false", "ipv6_subnet_attributes": "false", "floating_ips": "false",
            "port_security": "false", "port_admin_state_change": "true",
            "qos_min_bw_and_pps": "false"},
        "validation": {"run_validation": "false"},
    })
    out = io.StringIO()
    conf.write(out)
    return out.getvalue()


def _flag(on: bool) -> str:
    return "true" if on else "false"
