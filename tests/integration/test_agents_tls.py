"""Agents under mutual TLS: an agent's certificate names its id, and a leaf lets
it speak for that id only; operators' calls and objects come from the cells
above."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from cellops import certs
from cellops.tree import TreeRunner
from cells.security.auth import TokenStore
from cellwire.agents import AgentsClient
from cellwire.tls import TlsConfig
from model.agents import AgentReport, PlaceSpec, ServiceObject
from model.errors import (
    AlreadyExists,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from tests.integration.conftest import eventually, start_tree

TREE = """
[tree]
tls = true
report_interval = 0.2
down_after = 3

[cells.top]
[cells.z1]
parent = "top"
driver = "fake"
hosts = [{ name = "h1", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]
"""
T = TypeVar("T")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    runner = start_tree(tmp_path_factory.mktemp("agents-tls"), TREE)
    yield runner
    runner.stop()


def tls_of(runner: TreeRunner, name: str, role: str = "agent") -> TlsConfig:
    """`name`'s certificate in the tree's CA directory: the one there (the
    cells'), or a new one for `role`."""
    assert runner.certs is not None
    if not (runner.certs / f"{name}.pem").exists():
        certs.issue(runner.certs, name, role=role)
    return TlsConfig(runner.certs / "ca.pem", runner.certs / f"{name}.pem",
                     runner.certs / f"{name}.key")


def ask(runner: TreeRunner, as_who: str, what: Callable[[AgentsClient], Awaitable[T]]) -> T:
    """`what` asked of the leaf z1 over mutual TLS, with the certificate of `as_who`."""
    async def run() -> T:
        client = AgentsClient(runner.addresses["z1"], tls=tls_of(runner, as_who).load(),
                              peer_name="z1")
        try:
            return await what(client)
        finally:
            await client.close()
    return asyncio.run(run())


def test_an_agent_with_its_certificate_reports_and_holds_objects(
        tree: TreeRunner, tmp_path: Path) -> None:
    tls = tls_of(tree, "lb-t")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cellops.cli", "agent", "--kind", "loadbalancer",
         "--capability", "haproxy", "--cell", tree.addresses["z1"], "--state-dir",
         str(tmp_path / "lb-t"), "--id", "lb-t", "--interval", "0.2",
         "--ca-file", str(tls.ca_file), "--cert-file", str(tls.cert_file),
         "--key-file", str(tls.key_file), "--server-name", "z1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Operators' calls come from the cells above: here, with the top's certificate.
        assert eventually(lambda: [a.id for a, _ in ask(tree, "top", lambda c: c.agents())]
                          == ["lb-t"], timeout=20)
        placed = ask(tree, "top", lambda c: c.place(PlaceSpec(
            "req-t", "vip-t", "loadbalancer", ("haproxy",))))
        assert placed.agent == "lb-t"
        held = tmp_path / "lb-t" / "objects" / f"{placed.uuid}.json"
        assert eventually(held.exists)
    finally:
        proc.kill()
        proc.wait()


def test_an_agent_cannot_speak_for_another_and_nothing_changes(tree: TreeRunner) -> None:
    forged = AgentReport("lb-other", "host-x", "loadbalancer", ("haproxy",))
    with pytest.raises(PermissionDenied, match="a certificate for lb-mallory may not speak for"
                                               " agent lb-other"):
        ask(tree, "lb-mallory", lambda c: c.report(forged))
    with pytest.raises(PermissionDenied, match="only the cells above this one may"):
        ask(tree, "lb-mallory", lambda c: c.agents())  # an agent is no operator
    ids = [a.id for a, _ in ask(tree, "top", lambda c: c.agents())]
    assert "lb-other" not in ids and "lb-mallory" not in ids


TOKENS_TREE = TREE.replace("tls = true", "tls = true\ntokens = true")


def test_clients_place_objects_on_the_tops_client_port_within_their_project(
        tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    runner = start_tree(tmp_path_factory.mktemp("objects-tokens"), TOKENS_TREE)
    assert runner.tokens_file is not None and runner.ca is not None
    tls = tls_of(runner, "lb-k")
    agent = subprocess.Popen(
        [sys.executable, "-m", "cellops.cli", "agent", "--kind", "loadbalancer",
         "--capability", "haproxy", "--cell", runner.addresses["z1"], "--state-dir",
         str(tmp_path / "lb-k"), "--id", "lb-k", "--interval", "0.2",
         "--ca-file", str(tls.ca_file), "--cert-file", str(tls.cert_file),
         "--key-file", str(tls.key_file), "--server-name", "z1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = TokenStore(runner.tokens_file)
    shop, _ = store.issue("shop", "member", "shop user")
    lab, _ = store.issue("lab", "member", "lab user")

    def as_client(token: str, what: Callable[[AgentsClient], Awaitable[T]]) -> T:
        async def run() -> T:
            client = AgentsClient(runner.client_address, ca=runner.ca, token=token,
                                  peer_name="top")
            try:
                return await what(client)
            finally:
                await client.close()
        return asyncio.run(run())

    def placed_by_shop() -> ServiceObject | None:
        try:
            return as_client(shop, lambda c: c.place(PlaceSpec(
                "req-k", "vip-k", "loadbalancer", ("haproxy",))))
        except ResourceExhausted:  # the agent has not reported up the tree yet
            return None

    try:
        vip = wait_for_value(placed_by_shop)
        assert (vip.spec.project, vip.agent) == ("shop", "lb-k")  # a member's own project
        with pytest.raises(PermissionDenied, match="cannot place objects for project lab"):
            as_client(shop, lambda c: c.place(PlaceSpec("req-x", "x", "loadbalancer",
                                                         project="lab")))
        # Another project's request id is not a way to its object (as for boots).
        with pytest.raises(AlreadyExists, match="request id req-k is already in use"):
            as_client(lab, lambda c: c.place(PlaceSpec("req-k", "mine", "loadbalancer")))
        with pytest.raises(NotFound):  # another project's object is as missing as none
            as_client(lab, lambda c: c.get_object(vip.uuid))
        with pytest.raises(NotFound):
            as_client(lab, lambda c: c.delete_object(vip.uuid))
        assert as_client(lab, lambda c: c.objects()) == []
        with pytest.raises(PermissionDenied, match="only an admin may move objects"):
            as_client(shop, lambda c: c.unbind(vip.uuid))
        assert [o.uuid for o in as_client(runner.admin_token, lambda c: c.objects())] == [
            vip.uuid]
        with pytest.raises(Unauthenticated):
            as_client("not-a-token", lambda c: c.objects())
        assert runner.certs is not None  # and from the command line, as users run it
        listed_cli = subprocess.run(
            [sys.executable, "-m", "cellops.cli", "objects", "list", "--cell",
             runner.client_address, "--ca-file", str(runner.certs / "ca.pem"), "--token", shop,
             "--server-name", "top", "--json"], capture_output=True, text=True, timeout=60)
        assert listed_cli.returncode == 0, listed_cli.stderr
        assert [o["uuid"] for o in json.loads(listed_cli.stdout)] == [vip.uuid]
        # The agents, below the top, for an admin token on its client port only.
        found = as_client(runner.admin_token, lambda c: c.agents())
        assert [(a.id, path) for a, path in found] == [("lb-k", "top!z1")]
        with pytest.raises(PermissionDenied, match="only an admin may list the agents"):
            as_client(shop, lambda c: c.agents())
        with pytest.raises(PermissionDenied, match="only an admin may switch an agent"):
            as_client(shop, lambda c: c.set_enabled("lb-k", False))
        assert [a.enabled for a, _ in as_client(runner.admin_token, lambda c: c.agents())] == [
            True]  # the member's refused call changed nothing
        switched, path = as_client(runner.admin_token, lambda c: c.set_enabled("lb-k", False))
        assert (switched.id, switched.enabled, path) == ("lb-k", False, "top!z1")
        assert [a.enabled for a, _ in ask(runner, "top", lambda c: c.agents())] == [False]
    finally:
        agent.kill()
        agent.wait()
        runner.stop()


def wait_for_value(get: Callable[[], T | None], timeout: float = 30.0) -> T:
    found: list[T] = []

    def check() -> bool:
        value = get()
        if value is not None:
            found.append(value)
        return value is not None

    assert eventually(check, timeout=timeout)
    return found[0]
