"""Where the guard's own CPU goes on each request: the proxy's service path, with parts switched off.

    python -m bench.proxy_breakdown [--quick] [--requests N] [--rounds R] [--concurrency C]

`bench_proxy` measures the guard against a relay over HTTP, where one figure holds everything
and a run on this 2-vCPU VM varies by ±5 %. This one takes the sockets, the HTTP server and the
upstream client away, to apportion what the guard itself adds. It runs what
`POST /v1/chat/completions` runs after routing — parse and validate the request body
(`parse_chat_request`), `GuardService.complete` (record and policy, the model call, `evaluate`,
the decision record handed to the auditor and its ledger, the response) and the response's JSON
— on uvloop, C requests in flight, with the model call answering bench_proxy's reply at once
(decoded from JSON each time, as the real upstream client does). Variants, each its own app:

- `full`: the default configuration (the checks; the OTel auditor; the ledger, sync=full, its
  commits in the writer process);
- `no checks`: `evaluate` answers a verdict computed once for the policy (what the checks cost);
- `no ledger hand-over`: the ledger's `append_async` answers at once (the OTel call, the decision
  record and the entry are still made: what encoding the record for the writer process, sending
  it and waiting for its answer cost);
- `no audit`: the `NullAuditor` (what the whole audit costs);
- `neither`: no checks and the `NullAuditor` (parsing, routing of the call, the response).

Each round runs every variant once, one after another, the order rotating; the figure is the
median over the rounds of the event-loop thread's CPU time a request (`time.thread_time`, kernel
time of its system calls included; the writer process's own CPU is not in it). Also: `evaluate`
alone on the same reply in a tight loop, with each check's time, which shows how much more the
same work costs when other work runs between two calls (caches).

Not the HTTP figures: the server, the parser and the upstream client (httpx) are absent here, and
under load everything costs more than in a loop (docs/benchmarks.md, "Proxy", fourteenth round).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.bench_proxy import KEY, RECORD, REPLY, _body

__all__ = ["VARIANTS", "Breakdown", "evaluate_alone", "main", "run"]

VARIANTS: tuple[str, ...] = (
    "full",
    "no checks",
    "no ledger hand-over",
    "no audit",
    "neither",
)

_CANNED = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1,
        "model": "bench",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}
        ],
    },
    ensure_ascii=False,
).encode()


@dataclass
class Breakdown:
    """µs of event-loop CPU a request, per variant: every round's figure."""

    rounds: dict[str, list[float]] = field(default_factory=dict)

    def median(self, variant: str) -> float:
        return statistics.median(self.rounds[variant])


@dataclass
class _Variant:
    name: str
    app: Any
    one: Callable[[], Awaitable[bytes]]
    patch: Callable[[], contextlib.AbstractContextManager[None]]


def _build(name: str, ledger_dir: Path) -> _Variant:
    """One app per variant (its own ledger file and writer process), with its parts switched off."""
    from pydantic import SecretStr

    from guard.audit.api import NullAuditor
    from guard.proxy.app import create_app
    from guard.proxy.encoding import json_bytes
    from guard.proxy.openai_models import parse_chat_request
    from guard.proxy.settings import ApiKey, GuardSettings

    settings = GuardSettings(
        upstream_base_url="http://127.0.0.1:9/v1",  # never called: the model's answer is canned
        crm_source="none",
        ledger=str(ledger_dir / f"ledger-{name.replace(' ', '-')}.db"),
        api_keys=(ApiKey(name="bench", key=SecretStr(KEY)),),
    )
    # Each app sets up OpenTelemetry; the SDK warns when a second one tries to install its
    # providers globally. Each auditor keeps its own providers either way: not a difference here.
    otel_log = logging.getLogger("opentelemetry")
    level = otel_log.level
    otel_log.setLevel(logging.ERROR)
    try:
        app = create_app(settings)
    finally:
        otel_log.setLevel(level)
    service = app.state.service

    async def chat(body: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(_CANNED)
        return data

    setattr(service.upstream, "chat", chat)  # noqa: B010 - an instance's method, replaced for the bench
    ledger = getattr(service.auditor, "ledger", None)
    if name == "no ledger hand-over" and ledger is not None:

        async def append_async(entry: dict[str, Any]) -> int:
            return 1

        setattr(ledger, "append_async", append_async)  # noqa: B010
    if name in ("no audit", "neither"):
        service.auditor = NullAuditor()

    @contextlib.contextmanager
    def patch() -> Iterator[None]:
        if name not in ("no checks", "neither"):
            yield
            return
        real = service.evaluate  # what the service calls
        verdicts: dict[int, Any] = {}

        def evaluate(policy: Any, record: Any, reply: str, **kwargs: Any) -> Any:
            verdict = verdicts.get(id(policy))
            if verdict is None:
                verdict = verdicts[id(policy)] = real(policy, record, reply, **kwargs)
            return verdict

        service.evaluate = evaluate
        try:
            yield
        finally:
            service.evaluate = real

    raw = json.dumps(_body(), ensure_ascii=False).encode()
    principal = app.state.keys.authenticate(f"Bearer {KEY}")

    async def one() -> bytes:
        req = parse_chat_request(raw, "application/json")
        out, _headers = await service.complete(req, principal)
        return json_bytes(out)

    return _Variant(name, app, one, patch)


async def _round(variant: _Variant, requests: int, concurrency: int) -> float:
    """µs of this thread's CPU a request, `requests` requests with `concurrency` in flight."""
    each = max(1, requests // concurrency)

    async def worker() -> None:
        for _ in range(each):
            await variant.one()

    with variant.patch():
        start = time.thread_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        spent = time.thread_time() - start
    return spent / (each * concurrency) * 1e6


async def _run(requests: int, rounds: int, concurrency: int, ledger_dir: Path) -> Breakdown:
    variants = [_build(name, ledger_dir) for name in VARIANTS]
    try:
        for v in variants:  # warm-up: writer processes started, caches and the lexicon loaded
            await _round(v, min(requests, 20 * concurrency), concurrency)
        gc.freeze()  # as the server does once it has started (undone below: a test may call this)
        result = Breakdown({v.name: [] for v in variants})
        for r in range(rounds):
            order = variants[r % len(variants) :] + variants[: r % len(variants)]
            for v in order:
                result.rounds[v.name].append(await _round(v, requests, concurrency))
        return result
    finally:
        gc.unfreeze()
        for v in variants:
            auditor = v.app.state.auditor  # the app's own (a replaced one was never started)
            close = getattr(auditor, "close", None)
            if close is not None:
                close()


def run(requests: int = 3000, rounds: int = 5, concurrency: int = 16) -> Breakdown:
    """Every variant, `rounds` interleaved rounds of `requests` requests each."""
    import uvloop

    with tempfile.TemporaryDirectory(prefix="bench-breakdown-") as tmp:
        return uvloop.run(_run(requests, rounds, concurrency, Path(tmp)))


def evaluate_alone(n: int = 20000) -> tuple[float, dict[str, float]]:
    """µs a call of `evaluate` on bench_proxy's reply in a tight loop, and each check's µs."""
    from guard.engine import evaluate
    from guard.policy.dates import business_today
    from guard.policy.loader import load_policy_set
    from guard.types import CustomerRecord

    record = CustomerRecord.model_validate(RECORD)
    policy = load_policy_set().select(None, record.segment, today=business_today())
    for _ in range(min(n, 2000)):
        evaluate(policy, record, REPLY, model_in_loop=True)
    timings: dict[str, float] = {}
    # Wall time, as the engine times each check: a preemption lands in both or in neither.
    start = time.perf_counter()
    for _ in range(n):
        evaluate(policy, record, REPLY, model_in_loop=True, timings=timings)
    per_call = (time.perf_counter() - start) / n * 1e6
    return per_call, {name: ms * 1000 / n for name, ms in timings.items()}


def main(argv: list[str] | None = None) -> Breakdown:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer requests and rounds")
    ap.add_argument(
        "--requests", type=int, default=None, help="requests a round (default 3000, 1000 with --quick)"
    )
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 7, 3 with --quick)")
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args(argv)
    requests = args.requests or (1000 if args.quick else 3000)
    rounds = args.rounds or (3 if args.quick else 7)

    from guard.native import status

    print(
        f"guard service path in process, uvloop, {args.concurrency} in flight, {requests} requests a round, "
        f"{rounds} rounds; check modules {status().describe()}; pid {os.getpid()}"
    )
    result = run(requests, rounds, args.concurrency)
    full = result.median("full")
    print(f"{'variant':<22}{'µs CPU a request':>18}{'vs full':>10}   rounds")
    for name in VARIANTS:
        med = result.median(name)
        figures = " ".join(f"{x:.0f}" for x in result.rounds[name])
        print(f"{name:<22}{med:>18.1f}{med - full:>+10.1f}   {figures}")
    alone, checks = evaluate_alone(5000 if args.quick else 20000)
    parts = ", ".join(f"{name} {us:.1f}" for name, us in checks.items())
    print(f"evaluate() alone on the same reply, tight loop: {alone:.1f} µs a call ({parts} µs)")
    return result


if __name__ == "__main__":
    main()
