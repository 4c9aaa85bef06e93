"""The upstream connection pool: httpcore's own, with an assignment pass that does not poll every socket.

httpx's `AsyncClient` keeps its connections in `httpcore.AsyncConnectionPool`. Twice a request
(when it arrives and when its response is closed) the pool runs `_assign_requests_to_connections`,
which in httpcore 1.0.9 calls `has_expired()` on *every* connection. For an idle connection
that is a `poll()` of its socket through anyio's attribute lookup (a `getpeername()` and a
dictionary of lambdas each time): about 15 µs. It also counts the connections once for each of
them (quadratic). With 64 connections to the model, most of them idle between a reply and the
next request, a bare client made 178–206 requests/s against a local upstream; with 16, 914/s
(one-off, `docs/benchmarks.md`, section "Proxy", eighth round). The open httpcore pull request
encode/httpcore#928 describes the same cost.

`UpstreamPool` changes only that pass:
- a connection is checked for expiry (keep-alive timeout, or closed by the server: the socket
  poll) when it is about to be handed to a request, not on every pass; a full sweep of every
  connection runs at most once a second, so idle connections nobody takes are still closed;
- a connection already handed to a request that has not started on it yet is never given to a
  second request nor closed (httpcore can do either: encode/httpcore#1110);
- otherwise the same decisions in the same order: reuse the first available connection, else
  open one below `max_connections`, else close an idle one to make room; close idle connections
  while there are more connections than `max_keepalive_connections` (httpcore 1.0.9 compares
  the number of connections, not of idle ones; kept).

`install` switches a client's default transport to it, and leaves the client as it is (with a
warning) when httpx or httpcore no longer look as this module expects: the stock pool is
correct, only slower.
"""

from __future__ import annotations

import logging
import time

import httpcore
import httpx
from httpcore._async.interfaces import AsyncConnectionInterface

__all__ = ["SWEEP_INTERVAL", "UpstreamPool", "install"]

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 1.0  # seconds between full expiry sweeps of every connection

# What the pass reads of httpcore's pool; checked before switching a pool over.
_POOL_ATTRIBUTES = ("_connections", "_requests", "_max_connections", "_max_keepalive_connections")


class UpstreamPool(httpcore.AsyncConnectionPool):
    """`httpcore.AsyncConnectionPool` with an assignment pass linear in the pool's size and
    one socket poll per handed-out connection (see the module docstring)."""

    _next_sweep: float = 0.0

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        closing: list[AsyncConnectionInterface] = []
        connections = self._connections
        # Connections handed to a request that has not started on them yet: still idle, but taken.
        taken = {r.connection for r in self._requests if r.connection is not None}
        now = time.monotonic()
        sweep = now >= self._next_sweep
        if sweep:
            self._next_sweep = now + SWEEP_INTERVAL
        for connection in list(connections):
            if connection.is_closed():
                connections.remove(connection)
            elif connection in taken:
                continue
            elif (sweep and connection.has_expired()) or (
                len(connections) > self._max_keepalive_connections and connection.is_idle()
            ):
                connections.remove(connection)  # expired, or an idle one over the keep-alive limit
                closing.append(connection)

        for pool_request in [r for r in self._requests if r.is_queued()]:
            origin = pool_request.request.url.origin
            chosen: AsyncConnectionInterface | None = None
            for connection in list(connections):
                if connection in taken or not (connection.can_handle_request(origin) and connection.is_available()):
                    continue
                if connection.is_idle() and connection.has_expired():
                    connections.remove(connection)  # timed out, or the server closed it
                    closing.append(connection)
                    continue
                chosen = connection
                break
            if chosen is None and len(connections) >= self._max_connections:
                idle = next((c for c in connections if c.is_idle() and c not in taken), None)
                if idle is None:
                    continue  # the request waits for a connection to come free
                connections.remove(idle)
                closing.append(idle)
            if chosen is None:
                chosen = self.create_connection(origin)
                connections.append(chosen)
            pool_request.assign_to_connection(chosen)
            if chosen.is_idle():  # an HTTP/2 connection that is busy can take more requests
                taken.add(chosen)
        return closing


def install(client: httpx.AsyncClient) -> bool:
    """Switch `client`'s default transport to `UpstreamPool`; False (and a warning) if it cannot."""
    transport = getattr(client, "_transport", None)
    pool = getattr(transport, "_pool", None)
    if type(pool) is not httpcore.AsyncConnectionPool or not all(hasattr(pool, a) for a in _POOL_ATTRIBUTES):
        log.warning(
            "upstream connection pool left as httpx made it (%s): it polls every connection on "
            "every request, which is slow with many connections",
            type(pool).__name__,
        )
        return False
    pool.__class__ = UpstreamPool
    return True
