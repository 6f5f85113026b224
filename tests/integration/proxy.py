"""A TCP proxy for fault injection between two cells, on loopback.

`LossyProxy` forwards bytes both ways. Armed with `lose_next_reply()`, it lets
the next request through to the server, then cuts the connection before the
server's answer gets back: the server did the work, the client saw it fail.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable


class LossyProxy:
    def __init__(self, target: Callable[[], str]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._armed = threading.Event()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self.cut = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def lose_next_reply(self) -> None:
        self._armed.set()

    def close(self) -> None:
        self._listener.close()
        for a, b in self._pairs:
            for s in (a, b):
                s.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            host, port = self._target().rsplit(":", 1)
            server = socket.create_connection((host, int(port)))
            self._pairs.append((client, server))
            drop = threading.Event()  # set: the server's answers go nowhere
            for args in ((client, server, drop, True), (server, client, drop, False)):
                threading.Thread(target=self._pump, args=args, daemon=True).start()

    def _pump(
        self, src: socket.socket, dst: socket.socket, drop: threading.Event, to_server: bool
    ) -> None:
        try:
            while data := src.recv(65536):
                if not to_server:
                    if not drop.is_set():
                        dst.sendall(data)
                    continue
                if not self._armed.is_set():
                    dst.sendall(data)
                    continue
                self._armed.clear()
                drop.set()
                dst.sendall(data)
                time.sleep(0.5)  # the server handles the request meanwhile
                self.cut += 1
                return
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
