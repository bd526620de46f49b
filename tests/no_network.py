"""A guard for the tests of what must work offline: every connection but to 127.0.0.1 is refused."""

from __future__ import annotations

import socket

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def refuse_outside_connections(patch) -> None:
    """With a pytest MonkeyPatch: a download or a telemetry call raises OSError in the test that makes it."""
    original = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in LOOPBACK:
            raise OSError(f"connexion réseau refusée par le test : {address}")
        return original(self, address)

    patch.setattr(socket.socket, "connect", connect)
