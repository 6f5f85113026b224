"""gRPC's fork handlers are off in every process that may run a leaf
(cellwire/__init__.py): libvirt forks to start QEMU, and gRPC reads the
setting once, when it is first imported, so the wire must load first."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Imports `entry` and prints the setting as it stood when gRPC was first imported.
PROBE = """
import importlib, os, sys
seen = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "grpc" and not seen:
            seen.append(os.environ.get("GRPC_ENABLE_FORK_SUPPORT"))
        return None
sys.meta_path.insert(0, Watch())
importlib.import_module(sys.argv[1])
print(seen[0] if seen else "grpc not imported")
"""


@pytest.mark.parametrize("entry", ["cellops.cli", "cells.embed"],
                         ids=["cellrouter-command", "embedded-cell"])
def test_grpc_loads_with_its_fork_handlers_off(entry: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GRPC_ENABLE_FORK_SUPPORT"}
    done = subprocess.run([sys.executable, "-c", PROBE, entry], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == "0"
