"""Synchronous work asked for during event-loop iterations, done together at the end of one.

The proxy checks a non-streamed reply (`evaluate`) through `EndOfIteration`: a request whose
model answer has arrived asks for its check and waits; the checks asked for while the loop ran
its other ready callbacks are run one after another in one callback, in the order they were
asked for. Checks run back to back find more of the checks' code and tables in the CPU caches
that the HTTP server and the upstream client between two inline checks would have evicted.

`later=1` (the proxy's setting) waits one more iteration, so that the answers the loop reads in
its next pass over the sockets join the batch. Under load the requests in flight then fall into
step and are checked in waves: on this project's 2-vCPU machine 13.6 checks a batch on average at
16 requests in flight (3.4 with `later=0`); at 64, waves of 64 run 16 a callback (the limit).
Measured against `later=0` in the same rounds, seven A/Bs at 16 and 64 in flight (docs/benchmarks.md,
"Proxy → seventeenth round"): the guard's CPU a request 2–21 % lower in all seven, its throughput
2.2 points more of the relay's on average (−0.5 to +5.7); alone, a check waits for one more,
empty iteration (no sequential latency cost was measurable).

`limit` bounds the calls of one callback (16 by default, about a millisecond of checks): the rest
run in the next iteration, so that a wave never holds the loop — and the streamed replies it
releases — for long. Nothing else changes: the same call, on the loop's thread, with its result
or its exception handed to the waiting request. A request cancelled while it waits is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["EndOfIteration"]

T = TypeVar("T")

_Call = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], "asyncio.Future[Any]"]


class EndOfIteration:
    """`await batch.run(fn, *args, **kwargs)`: `fn(*args, **kwargs)` at the end of this iteration
    (`later=0`) or of a later one (`later=n`), with the other calls asked for until then."""

    def __init__(self, *, later: int = 0, limit: int = 16) -> None:
        if later < 0 or limit < 1:
            raise ValueError("later must be >= 0 and limit >= 1")
        self.later = later
        self.limit = limit
        self._pending: dict[asyncio.AbstractEventLoop, list[_Call]] = {}

    def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> asyncio.Future[T]:
        """Schedule `fn(*args, **kwargs)` after the callbacks ready now (and `later` iterations
        more); a future of its result."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._wait, loop, self.later)
        pending.append((fn, args, kwargs, fut))
        return fut

    def _wait(self, loop: asyncio.AbstractEventLoop, left: int) -> None:
        if left:
            loop.call_soon(self._wait, loop, left - 1)
        else:
            self._run(loop, self._pending.pop(loop, []))

    def _run(self, loop: asyncio.AbstractEventLoop, calls: list[_Call]) -> None:
        for i, (fn, args, kwargs, fut) in enumerate(calls[: self.limit]):
            if fut.done():  # its request was cancelled while it waited
                continue
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                fut.set_exception(exc)
            except BaseException:
                # KeyboardInterrupt, SystemExit: the loop stops; no waiter is left hanging.
                for *_, rest in calls[i:]:
                    if not rest.done():
                        rest.set_exception(RuntimeError("interrupted before it ran"))
                raise
            else:
                fut.set_result(result)
        if len(calls) > self.limit:
            loop.call_soon(self._run, loop, calls[self.limit :])
