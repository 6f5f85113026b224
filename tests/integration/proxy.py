"""A TCP proxy for fault injection between two cells, on loopback.

`LossyProxy` forwards bytes both ways. Armed with `lose_next_reply()`, it lets
the next request through to the server, then cuts the connection as the
server's answer to it starts back: the server did the work, the client saw it
fail. It reads the HTTP/2 frames (gRPC over plain TCP) to know which answer is
the request's, so the cut waits for the server however slow it is.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # what a client sends before its frames
HEADERS = 0x1  # the frame that opens a request, and its answer, on a stream


class LossyProxy:
    def __init__(self, target: Callable[[], str], on_cut: Callable[[], None] = lambda: None,
                 armed: threading.Event | None = None) -> None:
        """`on_cut` runs as the answer is lost, before the client hears anything
        (to kill the server, say); proxies given one `armed` event share it, and
        the first request any of them sees once it is set is the one."""
        self._target = target
        self._on_cut = on_cut
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._armed = armed or threading.Event()
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
            try:
                server = socket.create_connection((host, int(port)))
            except OSError:
                client.close()  # the server is down: so is this way to it
                continue
            self._pairs.append((client, server))
            lost: list[int] = []  # the stream whose answer is to be lost, once known
            threading.Thread(target=self._requests, args=(client, server, lost),
                             daemon=True).start()
            threading.Thread(target=self._answers, args=(server, client, lost),
                             daemon=True).start()

    def _requests(self, src: socket.socket, dst: socket.socket, lost: list[int]) -> None:
        """Client to server: the first request opened once armed is the one."""
        with contextlib.suppress(OSError):
            for chunk in _frames(src, len(PREFACE)):
                if (not lost and self._armed.is_set() and chunk[3:4] == bytes([HEADERS])
                        and _stream(chunk)):
                    self._armed.clear()
                    lost.append(_stream(chunk))  # known before the server can answer
                dst.sendall(chunk)
        _shut(src, dst)

    def _answers(self, src: socket.socket, dst: socket.socket, lost: list[int]) -> None:
        """Server to client, until the answer to the lost request starts."""
        with contextlib.suppress(OSError):
            for frame in _frames(src):
                if lost and frame[3] == HEADERS and _stream(frame) == lost[0]:
                    self.cut += 1  # before the client can hear of it and retry
                    self._on_cut()
                    break
                dst.sendall(frame)
        _shut(src, dst)


def _frames(src: socket.socket, preface: int = 0) -> Iterator[bytes]:
    """What `src` sends: its first `preface` bytes, then whole HTTP/2 frames."""
    buffer = b""
    while data := src.recv(65536):
        buffer += data
        if preface:
            if len(buffer) < preface:
                continue
            yield buffer[:preface]
            buffer, preface = buffer[preface:], 0
        while len(buffer) >= 9:
            size = 9 + int.from_bytes(buffer[:3], "big")
            if len(buffer) < size:
                break
            frame, buffer = buffer[:size], buffer[size:]
            yield frame


def _stream(frame: bytes) -> int:
    return int.from_bytes(frame[5:9], "big") & 0x7FFFFFFF


def _shut(*sockets: socket.socket) -> None:
    for s in sockets:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)


class CuttableProxy:
    """A plain TCP forwarder to `target` (HOST:PORT) that can be cut: `cut()`
    closes every connection through it and refuses new ones at once, as a
    server that went away; `restore()` lets them through again."""

    def __init__(self, target: str) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        self._open.clear()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            _shut(*pair)
            for s in pair:
                s.close()

    def restore(self) -> None:
        self._open.set()

    def close(self) -> None:
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        host, port = self._target.rsplit(":", 1)
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection((host, int(port)))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    _shut(src, dst)
