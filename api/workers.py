"""`sanji serve --workers N`: uvicorn's supervisor, each worker listening on a socket of its own.

uvicorn hands every worker the same listening socket, and a worker's event loop accepts all the
connections waiting on it at once: a client that opens its 8 keep-alive connections together gets
them all accepted by whichever worker woke first, and that worker serves them all while the other
stays idle (measured: one at 94% of a core, one idle). Here each worker gets a socket of its own
on the same address, bound with SO_REUSEPORT, and the kernel spreads new connections over the
listening sockets by their addresses' hash. The supervisor is still uvicorn's (restarts, signals,
health checks); only the sockets it hands out differ.
"""

from __future__ import annotations

import logging
import socket

from uvicorn.config import Config
from uvicorn.supervisors import Multiprocess

log = logging.getLogger("uvicorn.error")


def balanced() -> bool:
    """Whether this system has SO_REUSEPORT (Linux, the BSDs, macOS; not Windows)."""
    return hasattr(socket, "SO_REUSEPORT")


def listening(config: Config) -> socket.socket:
    """A socket bound to the configured address that others with SO_REUSEPORT may share; OSError
    when the address is taken by a socket without it (another server)."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((config.host, config.port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class Balanced(Multiprocess):
    """uvicorn's Multiprocess supervisor whose every worker, the ones it starts again included,
    gets a new listening socket (`listening`) instead of one shared by all."""

    def __init__(self, config: Config) -> None:
        self._handed: list[socket.socket] = []  # given to workers being started; closed here after
        self._first: socket.socket | None = listening(config)  # the address is checked before any worker
        super().__init__(config, sockets=[])
        host = f"[{config.host}]" if ":" in config.host else config.host
        message = "Uvicorn running on http://%s:%d, a socket per worker (Press CTRL+C to quit)"
        log.info(message, host, config.port)

    @property
    def sockets(self) -> list[socket.socket]:
        """The sockets of the next worker: uvicorn reads this once for each worker it starts."""
        sock, self._first = self._first or listening(self.config), None
        self._handed.append(sock)
        return [sock]

    @sockets.setter
    def sockets(self, _shared: list[socket.socket]) -> None:
        """uvicorn's constructor sets the shared sockets; here there are none."""

    def keep_subprocess_alive(self) -> None:
        self._close_handed()
        super().keep_subprocess_alive()
        self._close_handed()

    def _close_handed(self) -> None:
        """Close this process's copies of the sockets given to workers it has started (each worker
        started has its own copy): a worker that dies then takes its socket out of the group, where
        the kernel would otherwise go on queueing connections for no one."""
        while self._handed:
            self._handed.pop().close()
