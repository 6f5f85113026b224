"""An OpenLDAP server of a test's own: Debian's slapd in the foreground, with a
slapd.conf in a temporary directory, a high port, StartTLS from a CA made for
it, and a seeded directory (ldapadd). Never the system's slapd, never port 389.

`require_slapd()` skips a test when slapd or ldap-utils is missing (the
bootstrap installs them when run as root), and fails it instead when
CELLROUTER_REQUIRE_LDAP=1, as in CI.

The directory, under dc=example,dc=org:

    ou=services   cn=cellrouter            the API's service account
    ou=people     uid=carol, dave, gina, hal, ivy (inetOrgPerson, password NAME-password;
                  ppolicy keeps pwdChangedTime)
    ou=groups     cn=cloud-admins          carol, gina       -> ops: admin
                  cn=shop-members          carol, dave, gina, ivy -> shop: member
                  cn=lab-readers           hal               -> lab: reader
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from cellops import certs

SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "root-secret"
SERVICE_DN = f"cn=cellrouter,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-secret"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
USERS = ("carol", "dave", "gina", "hal", "ivy")
MEMBERS = {"cloud-admins": ("carol", "gina"), "shop-members": ("carol", "dave", "gina", "ivy"),
           "lab-readers": ("hal",)}
MAPPING = (("cloud-admins", "ops", "admin"), ("shop-members", "shop", "member"),
           ("lab-readers", "lab", "reader"))
SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SCHEMAS = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")


def dn_of(user: str) -> str:
    return f"uid={user},{PEOPLE}"


def group_dn(group: str) -> str:
    return f"cn={group},{GROUPS}"


def require_slapd() -> None:
    missing = [what for what, there in (
        ("slapd", Path(SLAPD).exists()), ("ldapadd (ldap-utils)", shutil.which("ldapadd")),
        ("slapd's schemas", (SCHEMAS / "inetorgperson.schema").exists()),
        ("slapd's mdb backend", (MODULES / "back_mdb.la").exists())) if not there]
    if missing:
        reason = (f"OpenLDAP is not installed ({', '.join(missing)} missing): run"
                  " scripts/bootstrap.sh as root, or apt-get install slapd ldap-utils")
        if os.environ.get("CELLROUTER_REQUIRE_LDAP") == "1":
            pytest.fail(f"{reason} (CELLROUTER_REQUIRE_LDAP=1)")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Slapd:
    """One slapd under `directory`; `ca` is the CA (PEM) its certificate chains to."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.ca = certs.init_ca(directory / "ca", "ldap test CA").cert
        served = certs.issue(directory / "ca", "ldap.test", role="api")
        (directory / "data").mkdir()
        self.conf = directory / "slapd.conf"
        self.conf.write_text(_conf(directory, served))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        log = (self.directory / "slapd.log").open("ab")
        self.proc = subprocess.Popen(
            [SLAPD, "-d", "0", "-h", f"{self.url}/", "-f", str(self.conf)],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"slapd exited with {self.proc.returncode}:\n"
                                   + (self.directory / "slapd.log").read_text()[-2000:])
            if self._answers():
                return
            time.sleep(0.05)
        raise TimeoutError(f"slapd did not answer at {self.url} within {timeout:g} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def seed(self) -> None:
        self.ldap("ldapadd", _seed())
        # The passwords' pwdChangedTime (ppolicy) is in whole seconds: a token of
        # that second would count as older than the password.
        time.sleep(1.01 - time.time() % 1)

    def set_password(self, user: str, password: str) -> None:
        done = subprocess.run(["ldappasswd", "-x", "-H", self.url, "-D", ROOT_DN, "-w",
                               ROOT_PASSWORD, "-s", password, dn_of(user)],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"ldappasswd failed: {done.stderr}"

    def ldap(self, tool: str, ldif: str) -> None:
        """ldapadd or ldapmodify as the root DN; AssertionError when it fails."""
        done = subprocess.run([tool, "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD],
                              input=ldif, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"{tool} failed: {done.stderr}"

    def set_members(self, group: str, change: str, user: str) -> None:
        """`change` ("add" or "delete") `user` as a member of `group`."""
        self.ldap("ldapmodify", f"dn: {group_dn(group)}\nchangetype: modify\n"
                                f"{change}: member\nmember: {dn_of(user)}\n")

    def _answers(self) -> bool:
        done = subprocess.run(["ldapsearch", "-x", "-H", self.url, "-s", "base", "-b", "",
                               "namingContexts"], capture_output=True, timeout=10)
        return done.returncode == 0


def _conf(directory: Path, served: certs.Issued) -> str:
    return f"""include {SCHEMAS}/core.schema
include {SCHEMAS}/cosine.schema
include {SCHEMAS}/inetorgperson.schema
pidfile {directory}/slapd.pid
argsfile {directory}/slapd.args
modulepath {MODULES}
moduleload back_mdb
moduleload ppolicy
TLSCACertificateFile {directory}/ca/ca.pem
TLSCertificateFile {served.cert}
TLSCertificateKeyFile {served.key}

database mdb
maxsize 10485760
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {directory}/data
access to attrs=userPassword by self =xw by anonymous auth by * none
access to * by users read by * none
overlay ppolicy
"""


def _seed() -> str:
    entries = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\n"
               "dc: example\no: Example\n"]
    entries += [f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}\n"
                for ou in ("services", "people", "groups")]
    entries.append(f"dn: {SERVICE_DN}\nobjectClass: person\ncn: cellrouter\nsn: service\n"
                   f"userPassword: {SERVICE_PASSWORD}\n")
    entries += [f"dn: {dn_of(u)}\nobjectClass: inetOrgPerson\nuid: {u}\ncn: {u}\nsn: {u}\n"
                f"userPassword: {u}-password\n" for u in USERS]
    entries += [f"dn: {group_dn(g)}\nobjectClass: groupOfNames\ncn: {g}\n"
                + "".join(f"member: {dn_of(u)}\n" for u in members)
                for g, members in MEMBERS.items()]
    return "\n".join(entries)


def ldap_config(slapd: Slapd, ca: Path | None = None, cache_seconds: float = 2.0,
                failed_logins_per_user: int = 5) -> str:
    """[identity] for an API config reading `slapd` with StartTLS, trusting `ca`
    (by default the server's own CA)."""
    groups = "".join(f'\n[[identity.ldap.groups]]\ndn = "{group_dn(g)}"\nproject = "{p}"\n'
                     f'role = "{r}"\n' for g, p, r in MAPPING)
    return f"""
[identity]
backend = "ldap"
cache_seconds = {cache_seconds}
failed_logins_per_user = {failed_logins_per_user}

[identity.ldap]
url = "{slapd.url}"
use_tls = true
tls_cacertfile = "{ca or slapd.ca}"
user = "{SERVICE_DN}"
password = "{SERVICE_PASSWORD}"
user_tree_dn = "{PEOPLE}"
group_tree_dn = "{GROUPS}"
user_password_changed_attribute = "pwdChangedTime"
timeout = 2
{groups}"""
