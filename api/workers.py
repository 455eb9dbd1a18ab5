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
import sys

from uvicorn.config import Config
from uvicorn.supervisors import Multiprocess

log = logging.getLogger("uvicorn.error")


def balanced() -> bool:
    """Whether the kernel spreads TCP connections over sockets sharing a port: Linux (on macOS
    SO_REUSEPORT lets them share it but one gets every connection; FreeBSD needs another option)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free(config: Config) -> int:
    """The configured port, or the one the system picks for port 0, after checking that no socket
    is bound there: SO_REUSEPORT would let this server share the port, unnoticed, with another
    `sanji serve` of the same user (an old release still running), where binding must fail."""
    with socket.socket(_family(config.host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn's bind does
        probe.bind((config.host, config.port))
        return probe.getsockname()[1]


def listening(config: Config) -> socket.socket:
    """A socket bound to the configured address that the workers' others share (SO_REUSEPORT)."""
    sock = socket.socket(_family(config.host), socket.SOCK_STREAM)
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
        config.port = free(config)  # OSError: taken
        self._handed: list[socket.socket] = []  # given to workers being started; closed here after
        self._first: socket.socket | None = listening(config)
        super().__init__(config, sockets=[])
        host = f"[{config.host}]" if ":" in config.host else config.host
        message = "Uvicorn running on http://%s:%d, a socket per worker (Press CTRL+C to quit)"
        log.info(message, host, config.port)

    @property
    def sockets(self) -> list[socket.socket]:
        """The sockets of the next worker: uvicorn reads this once for each worker it starts. When
        no socket can be made for it (no file descriptors left, say), the server stops (uvicorn's
        supervisor then stops every worker) rather than run with one worker short."""
        try:
            sock, self._first = self._first or listening(self.config), None
        except OSError as error:
            log.error("cannot listen on port %d for a new worker (%s): stopping", self.config.port, error)
            self.should_exit.set()
            return []  # a worker with no socket serves nothing, and is stopped with the others
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
