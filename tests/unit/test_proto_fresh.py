"""The committed wire code in cellrouter/v1 matches proto/ (run `make proto`)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ["cells_pb2.py", "cells_pb2.pyi", "cells_pb2_grpc.py"]


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    protoc = pytest.importorskip("grpc_tools.protoc", reason="grpcio-tools is a dev extra")
    well_known = resources.files("grpc_tools") / "_proto"  # google/protobuf/*.proto
    status = protoc.main([
        "protoc", f"-I{ROOT / 'proto'}", f"-I{well_known}", f"--python_out={tmp_path}",
        f"--grpc_python_out={tmp_path}", f"--pyi_out={tmp_path}",
        str(ROOT / "proto/cellrouter/v1/cells.proto"),
    ])
    assert status == 0
    for name in GENERATED:
        fresh = (tmp_path / "cellrouter/v1" / name).read_text()
        committed = (ROOT / "cellrouter/v1" / name).read_text()
        assert fresh == committed, f"cellrouter/v1/{name} is stale: run `make proto`"
