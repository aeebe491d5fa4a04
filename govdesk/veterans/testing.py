"""Test tooling for device sync, shared by the tests and the sync benchmark."""

from __future__ import annotations

import itertools
import socket
import threading
from collections import Counter


class FlakyProxy:
    """Forwards TCP connections to a server (the live server in tests); each new connection meets the next fate
    of ``plan``: ``pass``, ``drop_before`` (closed before anything reaches the server) or
    ``drop_after`` (the request goes through, the server answers, the answer is thrown away)."""

    def __init__(self, upstream: tuple[str, int], plan):
        self.upstream = upstream
        self.plan = itertools.cycle(plan)
        self.counts: Counter = Counter()
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def set_plan(self, plan):
        with self.lock:
            self.plan = itertools.cycle(plan)

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                fate = next(self.plan)
                self.counts[fate] += 1
            threading.Thread(target=self._handle, args=(conn, fate), daemon=True).start()

    def _handle(self, conn: socket.socket, fate: str):
        try:
            if fate == "drop_before":
                conn.recv(65536)  # the request's first bytes arrive, and the line goes dead
                return
            upstream = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(conn, upstream), daemon=True).start()
            while True:  # the server closes after its answer (the client sends Connection: close)
                data = upstream.recv(65536)
                if not data:
                    break
                if fate == "pass":
                    conn.sendall(data)
            upstream.close()
        except OSError:
            pass
        finally:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket):
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
