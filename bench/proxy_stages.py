"""Where a guarded request's time goes, stage by stage: the added latency taken apart.

    python -m bench.proxy_stages [--quick] [--requests N]

`bench_proxy` measures the latency the guard adds over a relay as one figure. This runs its
in-process series again — the same apps (the guard with the ledger's default `sync=full`, the
guard with `sync=normal`, the relay), the same canned upstream, one request at a time, the order
rotating — with timers around the stages of a request (p50 / p99, ms):

- `validation`: `parse_chat_request`, the body parsed and validated;
- `upstream`: `Upstream.chat`, the model call (canned here: what is left is the client's work);
- `checks`: `evaluate`, the checks themselves;
- `check wait`: from asking `EndOfIteration` for the checks until their verdict is there, the
  checks included (the rest is waiting for the loop's iteration);
- `ledger`: `append_async`, the decision record committed (with `sync=full` through the ledger's
  writer process, fsync included);
- `service`: `GuardService.complete`, everything above and the rest of the service;
- `request`: the whole request as the client sees it.

The timers are wrappers installed for the run and removed after it; their own cost (a few µs a
stage) is in the figures. Measured figures: docs/benchmarks.md, "Proxy", eighteenth round.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench.bench_proxy import _canned_upstream, _guard_app, _interleaved, _passthrough_app
from bench.common import percentile

__all__ = ["SERIES", "STAGES", "main", "run"]

SERIES = ("guard, sync=full", "guard, sync=normal", "relay")
STAGES = ("validation", "upstream", "checks", "check wait", "ledger", "service", "request")
Timings = dict[str, dict[str, list[float]]]  # series → stage → seconds, one per request


@contextmanager
def _timed(timings: Timings, series: list[str], services: list[Any]) -> Iterator[None]:
    """Wrap the stages; each sample goes to the series named by `series[0]` when it is taken.
    `services`: the guards' `GuardService`s, whose `evaluate` is timed."""
    import guard.proxy.app as app_module
    from guard.audit.ledger import SqliteLedger
    from guard.proxy.iteration import EndOfIteration
    from guard.proxy.service import GuardService
    from guard.proxy.upstream import Upstream

    clock = time.perf_counter

    def add(stage: str, seconds: float) -> None:
        timings[series[0]].setdefault(stage, []).append(seconds)

    def sync_wrap(fn: Callable[..., Any], stage: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                add(stage, clock() - t0)
        return timed

    def async_wrap(fn: Callable[..., Any], stage: str) -> Callable[..., Any]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return await fn(*args, **kwargs)
            finally:
                add(stage, clock() - t0)
        return timed

    run_checks = EndOfIteration.run

    def checks_waited(self: EndOfIteration, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        t0 = clock()
        fut = run_checks(self, fn, *args, **kwargs)
        fut.add_done_callback(lambda _: add("check wait", clock() - t0))
        return fut

    # (owner, attribute, its timed replacement): module globals and attributes looked up at each call.
    timed: list[tuple[Any, str, Callable[..., Any]]] = [
        (app_module, "parse_chat_request", sync_wrap(app_module.__dict__["parse_chat_request"], "validation")),
        *((service, "evaluate", sync_wrap(service.evaluate, "checks")) for service in services),
        (Upstream, "chat", async_wrap(Upstream.chat, "upstream")),
        (GuardService, "complete", async_wrap(GuardService.complete, "service")),
        (SqliteLedger, "append_async", async_wrap(SqliteLedger.append_async, "ledger")),
        (EndOfIteration, "run", checks_waited),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in timed]
    for owner, name, replacement in timed:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


async def _series(n: int, warm: int, timings: Timings) -> None:
    upstream = _canned_upstream()
    apps = [_guard_app("http://up/v1", upstream), _guard_app("http://up/v1", upstream, ledger_sync="normal"),
            _passthrough_app("http://up/v1", upstream)]
    current = ["warm-up"]
    sink: Timings = {name: {} for name in ("warm-up", *SERIES)}

    def before(k: int, warming: bool) -> None:
        current[0] = "warm-up" if warming else SERIES[k]

    with _timed(sink, current, [app.state.service for app in apps[:2]]):
        requests = await _interleaved(apps, n, warm, before)
    for name, times in zip(SERIES, requests, strict=True):
        sink[name]["request"] = times
        timings[name] = sink[name]


def run(n: int, warm: int = 200) -> Timings:
    """Every stage's times over `n` requests of each series (after `warm` of each)."""
    timings: Timings = {}
    asyncio.run(_series(n, warm, timings))
    return timings


def report(timings: Timings) -> None:
    print(f"\none request at a time, in process (bench_proxy's apps and canned upstream); p50 / p99 ms, "
          f"{len(timings[SERIES[-1]].get('request', []))} requests a series")
    print(f"  {'stage':<12}" + "".join(f"{name:>22}" for name in SERIES))
    for stage in STAGES:
        cells = []
        for name in SERIES:
            xs = timings[name].get(stage)
            cells.append(f"{percentile(xs, 50) * 1000:9.3f} / {percentile(xs, 99) * 1000:6.3f}" if xs else "—")
        print(f"  {stage:<12}" + "".join(f"{c:>22}" for c in cells))


def main(argv: list[str] | None = None) -> Timings:
    parser = argparse.ArgumentParser(prog="python -m bench.proxy_stages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=None, help="requests a series (default 3000, 500 with --quick)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    timings = run(args.requests or (500 if args.quick else 3000))
    report(timings)
    return timings


if __name__ == "__main__":
    main()
