"""``python -m virt.fake_ovirt``: the fake engine as its own process (see the package doc)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

import virt.fake_ovirt as package
from virt.fake_ovirt.http import FakeEngine


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _names(text: str) -> tuple[str, ...]:
    names = tuple(name for name in (part.strip() for part in text.split(",")) if name)
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"network names must be unique, got {text!r}")
    return names


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m virt.fake_ovirt", description=package.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", type=_address, default=("127.0.0.1", 0))
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--host-memory-mb", type=int, default=16384)
    parser.add_argument("--host-cpus", type=int, default=8)
    parser.add_argument("--user", default="admin@internal")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--transition-delay", type=float, default=0.2)
    parser.add_argument("--networks", type=_names, default=("ovirtmgmt",),
                        help="comma-separated network names, one vNIC profile each "
                             "(default: ovirtmgmt)")
    args = parser.parse_args(argv)
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    engine = FakeEngine(listen=args.listen, hosts=args.hosts,
                        host_memory_mb=args.host_memory_mb, host_cpus=args.host_cpus,
                        user=args.user, password=args.password,
                        transition_delay=args.transition_delay,
                        networks=args.networks).start()
    print(f"engine: {engine.url}", flush=True)
    while not done.wait(0.5):
        pass
    engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
