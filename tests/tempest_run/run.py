"""Tempest's compute, identity and network API tests against a tree with its API.

    python -m tests.tempest_run.run [--regex R] [--concurrency N] [--keep DIR] [--top K]

Starts the tree below (a fake leaf whose three hosts are in two zones, a
network agent per host, two flavors, two images) with its API process, adds
the accounts Tempest uses to the API's users file (members round six
projects, a manager each, admins) and a network per project, writes a
workspace (tests.tempest_run.workspace) whose feature flags are what the API
answers (tests.tempest_run.features), runs `tempest run` there, and prints
the counts, the skip reasons and the failures grouped by cause, most frequent
first (tests.tempest_run.report). Exit status 1 on any failure or a class
whose set-up failed, 2 when the run itself could not be made. The workspace
(tempest.log, stestr's results: `stestr last` there) is in a temporary
directory, removed afterwards, or in DIR with --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

from api.identity.users import UserStore
from cellops.tree import TreeRunner
from cellops.tree_spec import load_tree
from tests.tempest_run import features, report, workspace

# All of compute; of identity, the modules about what the API's Keystone subset
# serves (discovery, tokens, the catalog, the one domain), not Keystone's admin CRUD.
REGEX = (r"^tempest\.api\.(compute\."
         r"|identity\.v3\.(test_api_discovery|test_tokens|test_catalog|test_domains)\."
         r"|network\.(test_networks|test_ports)\.)")
IMAGES = (("cirros", "4b0d7a8e-6a5b-4d4e-9a1e-3f0c2f6f8a01"),
          ("cirros-alt", "9c2e5f1a-7b3d-4e8f-a6c0-1d2b3c4d5e02"))
FLAVORS = ("small", "medium")  # flavor_ref, flavor_ref_alt (the larger, for resize)
# What the leaves filter hosts by: Tempest's scheduler_enabled_filters names
# these (tests.tempest_run.features), and only these.
LEAF_FILTERS = ("alive", "ram", "vcpu", "disk", "availability_zone", "affinity",
                "anti_affinity", "same_host", "different_host")
# One leaf holds the hosts: Tempest's multi-node tests take any other host of
# os-services as a target (unshelve to a host, as in a one-cell Nova), and a
# host of another leaf is in another cell, where neither Nova nor the tree
# moves a server. The tree's own tests cover many leaves.
TREE = """
[tree]
insecure = true
report_interval = 0.5
down_after = 5

[cells.top]

[flavors]
small = { vcpus = 1, memory_mb = 512, disk_gb = 1 }
medium = { vcpus = 2, memory_mb = 1024, disk_gb = 2 }

[cells.z1]
parent = "top"
driver = "fake"
hosts = [
  { name = "h1", vcpus = 64, memory_mb = 131072, disk_gb = 2000, availability_zone = "az1" },
  { name = "h2", vcpus = 64, memory_mb = 131072, disk_gb = 2000, availability_zone = "az1" },
  { name = "h3", vcpus = 64, memory_mb = 131072, disk_gb = 2000, availability_zone = "az2" },
]

[cells.z1.selection]
filters = LEAF_FILTERS

[api]
region = "RegionOne"

[[networks]]
name = "private"
source = "br-private"
cidr = "10.0.0.0/24"
""".replace("LEAF_FILTERS", "[" + ", ".join(f'"{f}"' for f in LEAF_FILTERS) + "]") \
    + "".join(f"""
[[images]]
name = "{name}"
id = "{image_id}"
source = "/srv/images/{name}.qcow2"
""" for name, image_id in IMAGES) + "".join(f"""
[[agents]]
cell = "{cell}"
id = "net-{host}"
kind = "network"
host = "{host}"
""" for cell, host in (("z1", "h1"), ("z1", "h2"), ("z1", "h3")))  # one network agent a host
HOSTS = 3
BIN = Path(sys.executable).parent


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            return run(args.keep.resolve(), args)
        with tempfile.TemporaryDirectory(prefix="cellrouter-tempest-") as tmp:
            return run(Path(tmp), args)
    except (RuntimeError, TimeoutError, OSError, requests.RequestException) as exc:
        print(f"tempest: the run could not be made: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tests.tempest_run.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--regex", default=REGEX, help=f"the tests to run (default {REGEX})")
    p.add_argument("--concurrency", type=int, default=2, help="Tempest's workers (default 2)")
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="make the tree and workspace in DIR and leave them there")
    p.add_argument("--top", type=int, default=25, help="failure causes shown (default 25)")
    return p


def run(directory: Path, args: argparse.Namespace) -> int:
    """Start the tree, run Tempest against it, stop the tree; print the report."""
    (directory / "tree.toml").write_text(TREE)
    runner = TreeRunner(load_tree(directory / "tree.toml"), directory / "state")
    runner.start(timeout=120)
    try:
        ws = directory / "workspace"
        conf = prepare(runner, ws, args.concurrency)
        if not (ws / ".stestr").exists():
            _stestr(conf, "init")
        listed = _stestr(conf, "list", args.regex).split()
        print(f"tempest: {len(listed)} tests match {args.regex}; workspace {ws}", flush=True)
        _tempest_run(ws, conf, args.regex, args.concurrency)
    finally:
        runner.stop()
    found = report.read(_stestr_bytes(conf, "last", "--subunit"), listed, ws / "tempest.log")
    (ws / "report.json").write_text(json.dumps(
        {"passed": found.passed, "failed": found.failed, "skipped": found.skipped,
         "not_started": found.not_started}, indent=1))
    print_report(found, args.top)
    return 1 if found.failed or not found.passed else 0


def prepare(runner: TreeRunner, ws: Path, concurrency: int) -> Path:
    """Add Tempest's accounts to the API's users; write the workspace; its tempest.conf."""
    assert runner.api is not None
    accounts = workspace.accounts_for(concurrency)
    users = UserStore(runner.api.directory / "users.json")
    for account in accounts:
        users.add(account.name, account.project, account.role, account.password)
    compute = f"{runner.api.url}/v2.1"
    token = _admin_token(runner)
    flags = features.probe(compute, token, FLAVORS[1])
    networking = f"{runner.api.url}/networking/v2.0"
    projects = (*workspace.alt_projects(concurrency), *workspace.PROJECTS,
                workspace.ADMIN_PROJECT)
    for n, project in enumerate(projects):
        _project_network(networking, token, project, f"10.{200 + n}.0.0/24")
    cloud = workspace.Cloud(
        auth_url=f"{runner.api.url}/identity", region=runner.api.spec.region,
        images=(IMAGES[0][1], IMAGES[1][1]), flavors=FLAVORS,
        max_microversion=_max_microversion(runner.api.url), compute_nodes=HOSTS,
        features=flags, scheduler_filters=features.scheduler_filters(LEAF_FILTERS),
        network_extensions=features.network_extensions(networking, token))
    print(f"tempest: compute up to {cloud.max_microversion}; flags on:"
          f" {', '.join(f for f, on in sorted(flags.items()) if on) or 'none'}")
    for flag, why in features.why_off(flags).items():
        print(f"  off: {flag} ({why})")
    return workspace.write(ws, cloud, accounts)


def _project_network(networking: str, token: str, project: str, cidr: str) -> None:
    """A network and subnet of `project`, named as its accounts name it."""
    headers = {"X-Auth-Token": token}
    made = requests.post(f"{networking}/networks", headers=headers, timeout=30, json={
        "network": {"name": workspace.network_name(project), "project_id": project}})
    made.raise_for_status()
    subnet = {"network_id": made.json()["network"]["id"], "cidr": cidr, "ip_version": 4,
              "project_id": project, "name": f"{project}-subnet"}
    requests.post(f"{networking}/subnets", headers=headers, timeout=30,
                  json={"subnet": subnet}).raise_for_status()


def _admin_token(runner: TreeRunner) -> str:
    assert runner.api is not None
    env = runner.api.environment()
    user = {"name": env["OS_USERNAME"], "domain": {"name": "Default"},
            "password": env["OS_PASSWORD"]}
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}},
                     "scope": {"project": {"name": env["OS_PROJECT_NAME"],
                                           "domain": {"name": "Default"}}}}}
    answer = requests.post(f"{env['OS_AUTH_URL']}/v3/auth/tokens", json=auth, timeout=30)
    answer.raise_for_status()
    return answer.headers["X-Subject-Token"]


def _max_microversion(url: str) -> str:
    """The newest compute microversion the API's version document names."""
    versions = requests.get(f"{url}/", timeout=10).json()["versions"]
    numbers = [v.get("version") for v in versions if v.get("version")]
    return max(numbers, key=lambda v: tuple(int(p) for p in v.split(".")))


def _tempest_run(ws: Path, conf: Path, regex: str, concurrency: int) -> None:
    """`tempest run`, its output in ws/run.log; a line per test shown as it ends."""
    command = [str(BIN / "tempest"), "run", "--config-file", str(conf), "--regex", regex,
               "--concurrency", str(concurrency)]
    with (ws / "run.log").open("w") as log, subprocess.Popen(
            command, cwd=ws, env=_env(conf), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if line.startswith("{"):  # {worker} test.id [time] ... ok|FAILED|SKIPPED
                print(line.rstrip()[:160], flush=True)


def _env(conf: Path) -> dict[str, str]:
    """The environment of Tempest's processes: its config, a bound on a test
    against a hang, and none of the OpenStack clients' OS_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    return env | {"OS_TEST_TIMEOUT": "600", "TEMPEST_CONFIG_DIR": str(conf.parent),
                  "TEMPEST_CONFIG": conf.name}


def _stestr(conf: Path, *args: str) -> str:
    return _stestr_bytes(conf, *args).decode()


def _stestr_bytes(conf: Path, *args: str) -> bytes:
    """`stestr ARGS` in the workspace of `conf` (WS/etc/tempest.conf)."""
    done = subprocess.run([str(BIN / "stestr"), *args], cwd=conf.parent.parent,
                          env=_env(conf), capture_output=True, check=False)
    if done.returncode != 0 and not done.stdout:
        raise RuntimeError(f"stestr {' '.join(args)} failed:\n{done.stderr.decode()[-2000:]}")
    return done.stdout


def print_report(found: report.Report, top: int) -> None:
    print("\nSkipped, by reason:")
    for reason, count in found.skip_reasons():
        print(f"  {count:4d}  {reason[:150]}")
    causes = found.failure_causes()
    print(f"\nFailures, by cause ({len(causes)} causes; the {min(top, len(causes))} most"
          " frequent):")
    for cause, count in causes[:top]:
        print(f"  {count:4d}  {cause}")
        for test in found.examples(cause):
            print(f"          e.g. {test}")
    classes = sum(1 for t in found.failed if t.startswith("setUpClass"))
    print(f"\n{len(found.not_started)} tests did not start (their class's set-up failed:"
          f" {classes} classes)")
    print(f"tempest: {len(found.passed)} passed, {len(found.failed)} failed,"
          f" {len(found.skipped)} skipped")


if __name__ == "__main__":
    sys.exit(main())
