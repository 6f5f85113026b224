"""A tree of cell processes with the API process in front, and the ways tests
reach it: the `openstack` CLI, openstacksdk, and plain HTTP for raw bodies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import openstack
import openstack.connection
import requests

from api.identity.users import UserStore
from cellops.tree import TreeRunner
from tests.integration.conftest import PATIENCE, TREE, start_tree

IMAGE_ID = "8d3a5c46-1b6e-4c1f-9a55-0f3f1c2b7e10"
API_TREE = TREE + f"""
[api]
region = "RegionOne"

[[images]]
name = "debian-12"
id = "{IMAGE_ID}"
source = "/srv/images/debian-12.qcow2"
min_disk = 5

[[networks]]
name = "prod"
source = "br-prod"
cidr = "10.0.0.0/24"
"""
OPENSTACK = str(Path(sys.executable).with_name("openstack"))


def start_api_tree(tmp: Path, text: str = API_TREE) -> TreeRunner:
    runner = start_tree(tmp, text)
    assert runner.api is not None
    users = UserStore(runner.api.directory / "users.json")
    for name, project in (("alice", "shop"), ("bob", "lab")):
        users.add(name, project, "member", f"{name}-password")
    return runner


def env_for(runner: TreeRunner, user: str = "admin") -> dict[str, str]:
    assert runner.api is not None
    env = dict(runner.api.environment())
    if user != "admin":
        project = {"alice": "shop", "bob": "lab"}[user]
        env |= {"OS_USERNAME": user, "OS_PASSWORD": f"{user}-password",
                "OS_PROJECT_ID": project, "OS_PROJECT_NAME": project}
    return env


def cli(runner: TreeRunner, *args: str, user: str = "admin",
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """`openstack ARGS...` as a user runs it, with only the OS_* variables set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")} | env_for(runner, user)
    done = subprocess.run([OPENSTACK, *args], env=env, capture_output=True, text=True,
                          timeout=120)
    if check and done.returncode != 0:
        raise AssertionError(f"openstack {' '.join(args)} failed:\n{done.stderr}")
    return done


def cli_json(runner: TreeRunner, *args: str, user: str = "admin") -> Any:
    return json.loads(cli(runner, *args, "-f", "json", user=user).stdout)


def sdk(runner: TreeRunner, user: str = "admin") -> openstack.connection.Connection:
    env = env_for(runner, user)
    return openstack.connect(
        auth_url=env["OS_AUTH_URL"], username=env["OS_USERNAME"], password=env["OS_PASSWORD"],
        project_name=env["OS_PROJECT_NAME"], user_domain_name="Default",
        project_domain_name="Default", region_name="RegionOne",
        cacert=env.get("OS_CACERT"))  # a tree with TLS: the API is HTTPS from its CA


class Raw:
    """Plain HTTP to the API with a user's token, for exact codes and bodies."""

    def __init__(self, runner: TreeRunner, user: str = "admin") -> None:
        assert runner.api is not None
        self.url = runner.api.url
        env = env_for(runner, user)
        auth = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": env["OS_USERNAME"], "domain": {"name": "Default"},
                "password": env["OS_PASSWORD"]}}},
            "scope": {"project": {"name": env["OS_PROJECT_NAME"],
                                  "domain": {"name": "Default"}}}}}
        answer = requests.post(f"{self.url}/identity/v3/auth/tokens", json=auth, timeout=10)
        assert answer.status_code == 201, answer.text
        self.token = answer.headers["X-Subject-Token"]

    def call(self, method: str, path: str, body: Any = None, *, data: bytes | None = None,
             headers: Mapping[str, str] | None = None) -> requests.Response:
        sent = {"X-Auth-Token": self.token, **(headers or {})}
        if data is None and body is not None:
            data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
        return requests.request(method, f"{self.url}{path}", data=data, headers=sent,
                                timeout=30)


def wait_for(check: Callable[[], bool], timeout: float = PATIENCE) -> bool:
    """True as soon as `check()` is; False if it never was within `timeout` seconds
    (a bound against a hang, not a pace)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False
