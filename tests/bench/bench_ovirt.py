"""What the oVirt leaf costs over the oVirt SDK itself, against the fake engine.

    python -m tests.bench.bench_ovirt [--seconds S]

One cycle = suspend, then start (resume), of one VM. Measured in one run,
against one fake engine (in process, no transition delay):

    SDK directly    vm_service.suspend() and start(), polling until settled
    OvirtDriver     act(SUSPEND) and act(RESUME): state checks, settling,
                    Correlation-Id, error translation
"""

from __future__ import annotations

import argparse
import time
import uuid as uuidlib
from dataclasses import replace

import ovirtsdk4 as sdk

from cellwire.client import boot_spec
from model.compute import Action
from tests.bench.harness import rate
from virt.fake_ovirt import FakeEngine
from virt.ovirt_driver import OvirtDriver


def settle(service: object, status: str) -> None:
    while str(service.get().status) != status:  # type: ignore[attr-defined]
        time.sleep(0.001)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args(argv)
    with FakeEngine(transition_delay=0.0) as engine:
        connection = sdk.Connection(url=engine.url, username="admin@internal",
                                    password="secret", insecure=True)
        driver = OvirtDriver(connection, disk_gb=100, settle_timeout=10)
        spec = replace(boot_spec("bench", 1, 256), uuid=str(uuidlib.uuid4()))
        driver.spawn(spec, "Default")
        service = connection.system_service().vms_service().vm_service(
            engine.vm_id(f"bench-{spec.uuid[:8]}"))

        def direct() -> None:
            service.suspend()
            settle(service, "suspended")
            service.start()
            settle(service, "up")

        def through_driver() -> None:
            driver.act(spec.uuid, Action.SUSPEND)
            driver.act(spec.uuid, Action.RESUME)

        base = rate(direct, args.seconds)
        ours = rate(through_driver, args.seconds)
        driver.close()
    print("\n=== oVirt leaf: suspend + resume cycles per second, fake engine ===")
    print(f"SDK directly   {base:8,.1f} cycles/s")
    print(f"OvirtDriver    {ours:8,.1f} cycles/s  {base / ours:5.1f}x the direct time")


if __name__ == "__main__":
    main()
