"""Running the ASGI app under uvicorn, with several workers spread evenly.

uvicorn's own supervisor binds one listening socket and hands it to every worker, and
the worker that wakes first accepts what is waiting (asyncio accepts up to the backlog at
once). A worker whose connections are parked long-polls is idle, so it wakes first and
takes more: a 100,000-device benchmark saw six workers holding 5,165 to 18,783
connections, and the fullest ones answered tens of thousands of requests 503 at their
connection limit while others had room.

On Linux each worker here gets its own listening socket on the same port
(``SO_REUSEPORT``), and the kernel spreads new connections over them by a hash of the
address pair, whichever worker is idle. The supervisor is still uvicorn's (health checks,
restarts, signals); only the sockets it hands out differ. Elsewhere (no balancing
``SO_REUSEPORT``: macOS and the BSDs keep it for the last socket bound, Windows has none)
uvicorn runs as it is.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

logger = logging.getLogger("uvicorn.error")

#: Where the kernel balances connections over the sockets sharing a port.
SPREADS_CONNECTIONS = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def run(app: str, *, workers: int = 1, **options: Any) -> None:
    """``uvicorn.run(app, workers=workers, **options)``, with each of several workers on
    its own listening socket where the kernel balances them (see the module's text)."""
    elsewhere = any(options.get(name) for name in ("uds", "fd", "reload"))  # no port
    if workers <= 1 or not SPREADS_CONNECTIONS or elsewhere:
        uvicorn.run(app, workers=workers, **options)
        return
    SpreadWorkers(uvicorn.Config(app, workers=workers, **options)).run()


def listener(config: uvicorn.Config, *, shared: bool = True) -> socket.socket:
    """A socket bound to ``config``'s address. ``shared``: it shares the port with the
    other workers' (``SO_REUSEPORT``; each socket must set it, and all run as one user)."""
    family = socket.AF_INET6 if config.host and ":" in config.host else socket.AF_INET
    sock = socket.socket(family=family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as error:
        sock.close()
        logger.error(error)
        sys.exit(STARTUP_FAILURE)
    sock.set_inheritable(True)
    return sock


def ensure_port_free(config: uvicorn.Config) -> None:
    """Stop (as uvicorn does) if something listens on the port already. A socket with
    ``SO_REUSEPORT`` would join another server of the same user on that port, and the
    two would split its connections; a plain bind is refused instead."""
    listener(config, shared=False).close()


class SpreadWorkers(Multiprocess):
    """uvicorn's supervisor, handing each worker it starts a socket of its own.

    Every place uvicorn starts a worker (at start, on a restart, after a worker dies, on
    SIGTTIN) reads ``self.sockets`` once for it, so a fresh socket is made there. The
    supervisor closes its copy once the worker has started: the worker's copy then
    holds the socket alone, and a worker that dies takes its socket (and the connections
    queued on it, which their clients retry) with it, instead of leaving a socket in the
    group that nobody accepts from.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        ensure_port_free(config)
        self._handed: list[socket.socket] = []
        super().__init__(config, sockets=[])
        scheme = "https" if config.is_ssl else "http"
        logger.info(
            "Uvicorn running on %s://%s:%d with %d workers, one listening socket each "
            "(Press CTRL+C to quit)",
            scheme,
            config.host,
            config.port,
            config.workers,
        )

    @property
    def sockets(self) -> list[socket.socket]:
        sock = listener(self.config)
        self._handed.append(sock)
        return [sock]

    @sockets.setter
    def sockets(self, value: list[socket.socket]) -> None:
        """uvicorn's constructor stores the shared sockets; there are none here."""

    def _close_handed(self) -> None:
        while self._handed:
            self._handed.pop().close()

    def init_processes(self) -> None:
        super().init_processes()
        self._close_handed()

    def restart_all(self) -> None:
        super().restart_all()
        self._close_handed()

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        self._close_handed()

    def handle_ttin(self) -> None:
        super().handle_ttin()
        self._close_handed()
