"""Proxy benchmark: the guard's added latency and throughput over a pass-through relay.

    python -m bench.bench_proxy [--requests 2000] [--duration 1.5] [--rounds 12] [--streams 100]

Three processes answer HTTP on 127.0.0.1: the scripted upstream (a real OpenAI-compatible
server), the guard (`create_app`, the shipped default policy, inline records, auth on) and a
pass-through relay built from the same parts (FastAPI, uvicorn, the same pooled upstream
client) that only forwards. The baseline is measured in the same run, interleaved:
- added latency: sequential non-streamed requests to the guard and the pass-through, in process
  (ASGI) and over HTTP, the order rotating, p50/p99;
- throughput: non-streamed requests at concurrency 16 and 64, guard vs pass-through, in short
  rounds whose order rotates (a raw asyncio HTTP/1.1 client generates the load); each server's
  CPU time a request in those rounds is reported beside it;
- both with a second, identical relay in the same series as an A/A control: how far it lands
  from the first is the measurement's noise;
- release delay when streaming: per sentence, from the upstream sending the sentence's last
  token to the client receiving the released sentence, minus the same for the pass-through
  relaying that token (the upstream runs in this process so both clocks are one); one stream
  to each in turn, so that both sample the same spells of the host;
- memory: resident set (VmRSS, VmHWM) of the guard process after the load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import Request

from bench.common import Headline, cpu_ticks, headline, latency_headline, percentile, steal_note, steal_share

REPLY = "张先生您好，我是小安金融的客服。您的借款申请已经审核通过了，现在可以随时在App里操作。如果有任何问题，欢迎随时联系我们，感谢您的接听！"
RECORD = {"customer_id": "B1", "name": "张飞", "gender": "male", "credit_line": 4000}
KEY = "sk-bench"


# -- the two servers (run as subprocesses of this module) --------------------------------------


def _guard_app(upstream: str, transport: httpx.AsyncBaseTransport | None = None, ledger_sync: str | None = None) -> Any:
    from pydantic import SecretStr

    from guard.proxy.app import create_app
    from guard.proxy.settings import ApiKey, GuardSettings

    # The ledger goes to a temporary file (never the default var/guard-ledger.db), sync as GUARD_LEDGER_SYNC says.
    ledger = os.environ.get("GUARD_LEDGER") or str(Path(_LEDGER_DIR.name) / f"ledger-{ledger_sync or 'default'}.db")
    settings = GuardSettings(upstream_base_url=upstream, crm_source="none", ledger=ledger,
                             api_keys=(ApiKey(name="bench", key=SecretStr(KEY)),))
    saved = os.environ.get("GUARD_LEDGER_SYNC")
    if ledger_sync is not None:
        os.environ["GUARD_LEDGER_SYNC"] = ledger_sync
    try:
        return create_app(settings, transport=transport)
    finally:
        if ledger_sync is not None:
            if saved is None:
                del os.environ["GUARD_LEDGER_SYNC"]
            else:
                os.environ["GUARD_LEDGER_SYNC"] = saved


def _passthrough_app(upstream: str, transport: httpx.AsyncBaseTransport | None = None) -> Any:
    from fastapi import FastAPI
    from fastapi.responses import Response, StreamingResponse

    from guard.proxy.app import FRAMEWORK_TELEMETRY_OFF
    from guard.proxy.encoding import json_bytes  # the guard's JSON encoder: the same parts
    from guard.proxy.settings import GuardSettings
    from guard.proxy.upstream import Upstream

    up = Upstream(GuardSettings(upstream_base_url=upstream, crm_source="none"), transport=transport)
    app = FastAPI(telemetry=FRAMEWORK_TELEMETRY_OFF)  # as the guard's app

    # A plain Starlette route, as the guard's own hot route is (`guard.proxy.app`): neither pays
    # FastAPI's per-request dependency machinery.
    async def relay(request: Request) -> Response:
        body = await request.json()
        body.pop("guard", None)
        if body.get("stream"):
            stream = await up.open_stream(body)

            async def events() -> Any:
                try:
                    async for obj in stream.chunks():
                        yield b"data: " + json_bytes(obj) + b"\n\n"
                    yield b"data: [DONE]\n\n"
                finally:
                    await stream.aclose()

            return StreamingResponse(events(), media_type="text/event-stream")
        data = await up.chat(body)
        return Response(json_bytes(data), media_type="application/json")

    app.add_route("/v1/chat/completions", relay, methods=["POST"])
    return app


def _serve(kind: str, port: int, upstream: str) -> None:
    import uvicorn

    from guard.proxy.server import server_options

    app = _guard_app(upstream) if kind == "guard" else _passthrough_app(upstream)
    if kind != "guard":
        # The guard freezes its start-up heap (its app's lifespan). The relay imports the guard's
        # modules too (130,000 objects the cyclic GC tracks); unfrozen, each full collection of
        # them paused it for about 55 ms, which a relay of its own would not carry.
        gc.freeze()
        # And the guard puts that heap on 2 MiB pages (`huge_pages`, on by default): so does the
        # relay, which gained more from it than the guard did (docs/benchmarks.md, twenty-second round).
        from guard.proxy.hugepages import collapse_heap

        collapse_heap()
    # Both servers as `guard serve` runs: uvloop's event loop, httptools' HTTP parser, no access log.
    uvicorn.run(app, **server_options(host="127.0.0.1", port=port, log_level="warning"))


# -- helpers -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_LEDGER_DIR = tempfile.TemporaryDirectory(prefix="bench-proxy-")


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    # The guard's ledger goes to a temporary file, never into the default var/guard-ledger.db.
    env = {**os.environ, "GUARD_LEDGER": str(Path(_LEDGER_DIR.name) / "ledger.db")}
    return subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL, env=env)


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server for {url} exited")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _rss(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _children(pid: int) -> list[int]:
    """The process ids of the process's children (the guard's ledger writer)."""
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]


def _children_rss(pid: int) -> float:
    """Resident MB of the process's children, summed."""
    total = 0.0
    for child in _children(pid):
        with contextlib.suppress(FileNotFoundError):
            total += _rss(child)[0]
    return total


def _body(stream: bool = False) -> dict[str, Any]:
    return {"model": "bench", "messages": [{"role": "user", "content": "[[bench]] 你好"}], "stream": stream,
            "guard": {"record": RECORD}}


HEADERS = {"authorization": f"Bearer {KEY}"}


class _RawClient:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams: the load generator.

    httpx's pool itself slows down sharply at 64 concurrent connections on this machine (a
    trivial `/healthz` drops from ~340 to ~50 requests/s), which would measure the client, not
    the servers; this one costs a few microseconds per request.
    """

    def __init__(self, url: str, bodies: list[dict[str, Any]] | None = None, first: int = 0) -> None:
        rest = url.split("://", 1)[1]
        hostport, _, path = rest.partition("/")
        self.host, port = hostport.split(":")
        self.port = int(port)
        self.requests: list[bytes] = []
        for body in bodies or [_body()]:  # sent in turn, from the `first`
            raw = json.dumps(body, ensure_ascii=False).encode()
            self.requests.append((
                f"POST /{path} HTTP/1.1\r\nhost: {hostport}\r\ncontent-type: application/json\r\n"
                f"authorization: Bearer {KEY}\r\ncontent-length: {len(raw)}\r\n\r\n"
            ).encode() + raw)
        self.sent = first
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(self.requests[self.sent % len(self.requests)])
        self.sent += 1
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` and of its children (the guard's ledger writer)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for p in [pid, *_children(pid)]:
        with contextlib.suppress(FileNotFoundError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def _throughput(
    url: str, concurrency: int, duration: float, bodies: list[dict[str, Any]] | None = None
) -> tuple[float, float]:
    """Requests/s at `concurrency` for `duration` seconds, and the seconds it took.

    `bodies`: request bodies each connection sends in turn (default: bench_proxy's one body).
    """
    done = 0
    stop = time.perf_counter() + duration

    async def worker(i: int) -> None:
        nonlocal done
        client = _RawClient(url, bodies, first=i * 7)
        try:
            while time.perf_counter() < stop:
                assert await client.post() == 200
                done += 1
        finally:
            await client.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - t0
    return done / elapsed, elapsed


async def _latency(urls: list[str], n: int) -> list[list[float]]:
    """Sequential client-side latency of each server, `n` requests each, the order rotating per round."""
    out: list[list[float]] = [[] for _ in urls]
    clients = [_RawClient(url) for url in urls]
    for c in clients:  # warm-up: connections, first-call costs
        for _ in range(50):
            assert await c.post() == 200
    clock = time.perf_counter
    for i in range(n):
        for k in _rotated(len(urls), i):
            t0 = clock()
            status = await clients[k].post()
            out[k].append(clock() - t0)
            assert status == 200
    for c in clients:
        await c.close()
    return out


def _rotated(n: int, i: int) -> list[int]:
    """0..n-1 starting at i mod n: over n rounds each series runs first once (none always first)."""
    return [(i + k) % n for k in range(n)]


def _stream_delays(
    client: httpx.Client, url: str, upstream: Any, ends: list[int], sentence_ends: set[int], guarded: bool
) -> list[float]:
    """One stream. Per sentence: receive time of its last character minus the upstream's send
    time of it (`ends`: where each upstream piece ends in the reply)."""
    received = 0
    arrivals: list[tuple[float, int]] = []
    upstream.send_times.clear()
    with client.stream("POST", url, json=_body(stream=True)) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: {"):
                continue
            obj = json.loads(line[6:])
            for choice in obj.get("choices") or ():
                text = (choice.get("delta") or {}).get("content")
                if text:
                    received += len(text)
                    arrivals.append((time.perf_counter(), received))
    sent = list(upstream.send_times)
    delays: list[float] = []
    for t_recv, end in arrivals:
        if end not in sentence_ends:
            continue  # compare like with like: the tokens that end a sentence
        idx = next(i for i, e in enumerate(ends) if e >= end)
        delays.append(t_recv - sent[idx][0])
    if guarded:
        assert received == len(REPLY), "the bench reply must pass the default policy unchanged"
    return delays


def _stream_delays_in_turns(
    guard: str, relay: str, upstream: Any, pieces: list[str], n: int
) -> tuple[list[float], list[float]]:
    """`_stream_delays` of the guard and of the relay, one stream each in turn (`n` each).

    Each pair starts with the other server than the last, so that neither always follows the
    other: both sample the same spells of the host, as the throughput rounds do.
    """
    from guard.text.sentences import split_sentences

    sentence_ends = {x.end for x in split_sentences(REPLY)}
    ends = list(itertools.accumulate(len(piece) for piece in pieces))
    gd: list[float] = []
    pd: list[float] = []
    with httpx.Client(headers=HEADERS, timeout=30) as gc_, httpx.Client(headers=HEADERS, timeout=30) as pc:
        for i in range(n):
            for guarded in ((True, False) if i % 2 == 0 else (False, True)):
                if guarded:
                    gd += _stream_delays(gc_, guard, upstream, ends, sentence_ends, True)
                else:
                    pd += _stream_delays(pc, relay, upstream, ends, sentence_ends, False)
    return gd, pd


def _evaluate_cost() -> list[float]:
    from guard.engine import evaluate
    from guard.policy.loader import load_policy_set
    from guard.types import CustomerRecord

    policy = load_policy_set().select(None)
    record = CustomerRecord.model_validate(RECORD)
    out = []
    for _ in range(200):
        evaluate(policy, record, REPLY, model_in_loop=True)
    for _ in range(2000):
        t0 = time.perf_counter()
        evaluate(policy, record, REPLY, model_in_loop=True)
        out.append(time.perf_counter() - t0)
    return out


def _canned_upstream() -> httpx.MockTransport:
    """An upstream transport answering every request with bench_proxy's reply, no sockets."""
    canned = json.dumps({
        "id": "x", "object": "chat.completion", "created": 1, "model": "bench",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}],
    }, ensure_ascii=False).encode()
    return httpx.MockTransport(lambda r: httpx.Response(200, content=canned, headers={"content-type": "application/json"}))


async def _in_process(n: int) -> tuple[list[float], list[float], list[float], list[float]]:
    """The apps called through ASGI with a canned upstream: the guard's own work, without sockets.

    Series: guard (ledger sync as configured, default FULL), pass-through, guard with sync=NORMAL,
    and a second pass-through, identical to the first (the A/A control: how far two identical
    relays' percentiles differ in the same run).
    """
    upstream = _canned_upstream()
    apps = [_guard_app("http://up/v1", upstream), _passthrough_app("http://up/v1", upstream),
            _guard_app("http://up/v1", upstream, ledger_sync="normal"), _passthrough_app("http://up/v1", upstream)]
    gi, pi, gn, ci = await _interleaved(apps, n)
    return gi, pi, gn, ci


async def _interleaved(
    apps: list[Any], n: int, warm: int = 200, before: Callable[[int, bool], None] | None = None
) -> list[list[float]]:
    """Each app called through ASGI, one request at a time, the order rotating each round; `warm`
    rounds first, then `n` timed ones. Each app's request times (seconds).

    `before(k, warming)` runs before each request to app `k` (a caller's stage timers use it).
    """
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://t", headers=HEADERS) for a in apps]
    # ASGITransport runs no lifespan, so the guard's start-up `gc.freeze()` is done here: without
    # it a full collection of everything loaded (≈60 ms) lands inside some timed request.
    gc.freeze()
    out: list[list[float]] = [[] for _ in apps]
    clock = time.perf_counter
    try:
        for i in range(warm + n):
            for k in _rotated(len(apps), i):
                if before is not None:
                    before(k, i < warm)
                t0 = clock()
                r = await clients[k].post("/v1/chat/completions", json=_body())
                dt = clock() - t0
                # What an app scheduled for after its response (the guard makes its spans then) runs
                # here, between requests as on a server, not inside the next series' timed request.
                await asyncio.sleep(0)
                assert r.status_code == 200, r.text
                if i >= warm:
                    out[k].append(dt)
    finally:
        for c in clients:
            await c.aclose()
    return out


def _feed_cost() -> tuple[list[float], list[float]]:
    """StreamGuard.feed per 2-character delta, in process: (deltas inside a sentence, deltas ending one)."""
    from guard.policy.loader import load_policy_set
    from guard.stream import StreamGuard
    from guard.types import CustomerRecord

    policy = load_policy_set().select(None)
    record = CustomerRecord.model_validate(RECORD)
    pieces = [REPLY[i : i + 2] for i in range(0, len(REPLY), 2)]
    inside: list[float] = []
    ending: list[float] = []
    clock = time.perf_counter
    for rep in range(600):
        sg = StreamGuard(policy, record, model_in_loop=True)
        for piece in pieces:
            t0 = clock()
            out = sg.feed(piece)
            dt = clock() - t0
            if rep >= 100:
                (ending if out else inside).append(dt)
    return inside, ending


def _ms(values: list[float], q: float) -> float:
    return percentile(values, q) * 1000


def _aa_line(control: list[float], relay: list[float]) -> str:
    """The A/A control of a latency series: a second, identical relay against the first."""
    return (f"  A/A: second relay p50={_ms(control, 50):6.3f}  p99={_ms(control, 99):6.3f}  minus the first: "
            f"p50={_ms(control, 50) - _ms(relay, 50):6.3f}  p99={_ms(control, 99) - _ms(relay, 99):6.3f}"
            "   (what this measurement cannot tell from noise)")


def _aa_note(control: list[float], relay: list[float]) -> str:
    return (f"A/A control (an identical second relay, same rounds): p50 {_ms(control, 50) - _ms(relay, 50):+.3f} / "
            f"p99 {_ms(control, 99) - _ms(relay, 99):+.3f} ms against the first")


def run(requests: int, duration: float, streams: int, rounds: int = 12) -> None:
    from guard.native import status as native_status
    from guard.testing.scripted_upstream import ScriptedUpstream

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs (shared, loaded machine); reply {len(REPLY)} chars; "
          f"check modules {native_status().describe()}")
    cost = _evaluate_cost()
    print(f"evaluate() default policy, in process        p50={_ms(cost, 50) * 1000:7.1f} µs  p99={_ms(cost, 99) * 1000:7.1f} µs")

    inside, ending = _feed_cost()
    print(f"StreamGuard.feed, delta inside a sentence     p50={_ms(inside, 50) * 1000:7.1f} µs  p99={_ms(inside, 99) * 1000:7.1f} µs")
    print(f"StreamGuard.feed, delta ending a sentence     p50={_ms(ending, 50) * 1000:7.1f} µs  p99={_ms(ending, 99) * 1000:7.1f} µs")

    gi, pi, gn, ci = asyncio.run(_in_process(requests))
    print(f"\nin process (ASGI, canned upstream, no sockets), n={requests} each (ms)")
    print(f"  pass-through  p50={_ms(pi, 50):6.3f}  p99={_ms(pi, 99):6.3f}")
    print(f"  guard         p50={_ms(gi, 50):6.3f}  p99={_ms(gi, 99):6.3f}")
    print(f"  added         p50={_ms(gi, 50) - _ms(pi, 50):6.3f}  p99={_ms(gi, 99) - _ms(pi, 99):6.3f}   (target p99 <= 2 ms)")
    print(f"  guard, ledger sync=NORMAL  p50={_ms(gn, 50):6.3f}  p99={_ms(gn, 99):6.3f}  added p50="
          f"{_ms(gn, 50) - _ms(pi, 50):6.3f}  p99={_ms(gn, 99) - _ms(pi, 99):6.3f}")
    print(_aa_line(ci, pi))
    latency_headline("proxy", "non-streamed, in process (ASGI, no sockets)", gi, baseline="pass-through relay",
                     base_seconds=pi, unit="ms", target="adds ≤ 2 ms at p99", limit_added=2.0,
                     note=f"added p50 {_ms(gi, 50) - _ms(pi, 50):.3f} / p99 {_ms(gi, 99) - _ms(pi, 99):.3f} ms; "
                          f"{_aa_note(ci, pi)}")
    latency_headline("proxy", "non-streamed, in process, ledger sync=NORMAL", gn, baseline="pass-through relay",
                     base_seconds=pi, unit="ms", target="adds ≤ 2 ms at p99", limit_added=2.0,
                     note=f"added p50 {_ms(gn, 50) - _ms(pi, 50):.3f} / p99 {_ms(gn, 99) - _ms(pi, 99):.3f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        scen = Path(tmp) / "scenarios.json"
        scen.write_text(json.dumps({"bench": REPLY}, ensure_ascii=False), encoding="utf-8")
        up_port, g_port, p_port, c_port = _free_port(), _free_port(), _free_port(), _free_port()
        up_url = f"http://127.0.0.1:{up_port}/v1"
        procs = [_spawn(["-m", "guard.testing.scripted_upstream", "--scenarios", str(scen), "--port", str(up_port)])]
        try:
            _wait(up_url + "/models", procs[0])
            procs.append(_spawn(["-m", "bench.bench_proxy", "--serve", "guard", "--port", str(g_port), "--upstream", up_url]))
            # A second relay, identical to the first: the A/A control of the latency and throughput series.
            for port in (p_port, c_port):
                procs.append(_spawn(["-m", "bench.bench_proxy", "--serve", "passthrough", "--port", str(port),
                                     "--upstream", up_url]))
            guard = f"http://127.0.0.1:{g_port}/v1/chat/completions"
            relay = f"http://127.0.0.1:{p_port}/v1/chat/completions"
            control = f"http://127.0.0.1:{c_port}/v1/chat/completions"
            _wait(f"http://127.0.0.1:{g_port}/healthz", procs[1])
            _wait(f"http://127.0.0.1:{p_port}/docs", procs[2])
            _wait(f"http://127.0.0.1:{c_port}/docs", procs[3])
            rss0, _ = _rss(procs[1].pid)

            g, p, c = asyncio.run(_latency([guard, relay, control], requests))
            print(f"\nover HTTP, sequential, interleaved, n={requests} each (client-side, ms)")
            print(f"  pass-through  p50={_ms(p, 50):6.3f}  p99={_ms(p, 99):6.3f}")
            print(f"  guard         p50={_ms(g, 50):6.3f}  p99={_ms(g, 99):6.3f}")
            print(f"  added         p50={_ms(g, 50) - _ms(p, 50):6.3f}  p99={_ms(g, 99) - _ms(p, 99):6.3f}   (target p99 <= 2 ms)")
            print(_aa_line(c, p))
            latency_headline("proxy", "non-streamed over HTTP, sequential", g, baseline="pass-through relay",
                             base_seconds=p, unit="ms", target="adds ≤ 2 ms at p99", limit_added=2.0,
                             note=f"added p50 {_ms(g, 50) - _ms(p, 50):.3f} / p99 {_ms(g, 99) - _ms(p, 99):.3f} ms; "
                                  f"{_aa_note(c, p)}")

            print(f"\nthroughput, non-streamed, {rounds} rounds of {duration:g} s per server, the order rotating "
                  "each round (requests/s)")
            print("  (A/A: a second, identical relay runs in the same rounds; its ratio to the first is what this")
            print("   measurement cannot tell apart from noise on this machine. CPU: each server's own CPU time a")
            print("   request in those rounds, the guard's ledger writer process included; median of the rounds)")
            servers = {"relay": (relay, procs[2].pid), "guard": (guard, procs[1].pid), "control": (control, procs[3].pid)}
            names = list(servers)
            for conc in (16, 64):
                rates: dict[str, list[float]] = {n: [] for n in names}
                cpu_ms: dict[str, list[float]] = {n: [] for n in names}
                for r in range(rounds):
                    # Rotated, so that no server always runs first or after the same one while the
                    # host's speed drifts.
                    for name in names[r % 3:] + names[: r % 3]:
                        url, pid = servers[name]
                        c0 = _cpu_seconds(pid)
                        rate, elapsed = asyncio.run(_throughput(url, conc, duration))
                        rates[name].append(rate)
                        cpu_ms[name].append((_cpu_seconds(pid) - c0) / max(1.0, rate * elapsed) * 1000)
                tp, tg, tc = (statistics.fmean(rates[n]) for n in names)
                cp, cg = statistics.median(cpu_ms["relay"]), statistics.median(cpu_ms["guard"])
                print(f"  concurrency {conc:>2}: pass-through {tp:7.1f}   guard {tg:7.1f}   ratio {tg / tp:5.1%}"
                      f"   (target >= 70%; rounds: {' '.join(f'{x:.0f}' for x in rates['relay'])} / "
                      f"{' '.join(f'{x:.0f}' for x in rates['guard'])})")
                print(f"                  A/A: second relay  {tc:7.1f}   ratio {tc / tp:5.1%}"
                      f"   (rounds: {' '.join(f'{x:.0f}' for x in rates['control'])})")
                print(f"                  CPU a request: pass-through {cp:.3f} ms, guard {cg:.3f} ms "
                      f"(pass-through / guard {cp / cg:.1%})")
                headline(Headline("proxy", f"throughput, concurrency {conc}", "ms", per_s=tg, baseline="pass-through relay",
                                  base_per_s=tp, target="≥ 70% of pass-through", min_per_s=0.7 * tp,
                                  note=f"A/A control (an identical second relay, same rounds): {tc / tp:.0%} of the first; "
                                       f"CPU a request {cg:.3f} ms against the relay's {cp:.3f} ms ({cp / cg:.0%})"))
            rss, hwm = _rss(procs[1].pid)
            writer = _children_rss(procs[1].pid)
            print(f"\nguard process memory: RSS at start {rss0:.0f} MB, after load {rss:.0f} MB, peak {hwm:.0f} MB"
                  f"   (target < 300 MB); its ledger writer process: {writer:.0f} MB")
            headline(Headline("proxy", "guard process RSS, default policy", "MB", target="< 300 MB", met=hwm < 300,
                              note=f"start {rss0:.0f} / after load {rss:.0f} / peak {hwm:.0f} MB; ledger writer process {writer:.0f} MB"))
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(10)

    # Streaming: the upstream in this process, so its send times and our receive times share a clock.
    chunk_delay = 0.004
    with ScriptedUpstream({"bench": {"reply": REPLY, "chunk_chars": 2, "chunk_delay": chunk_delay}},
                          record_send_times=True) as up:
        pieces = [REPLY[i : i + 2] for i in range(0, len(REPLY), 2)]
        g_port, p_port = _free_port(), _free_port()
        procs = [
            _spawn(["-m", "bench.bench_proxy", "--serve", "guard", "--port", str(g_port), "--upstream", up.base_url]),
            _spawn(["-m", "bench.bench_proxy", "--serve", "passthrough", "--port", str(p_port), "--upstream", up.base_url]),
        ]
        try:
            _wait(f"http://127.0.0.1:{g_port}/healthz", procs[0])
            _wait(f"http://127.0.0.1:{p_port}/docs", procs[1])
            guard = f"http://127.0.0.1:{g_port}/v1/chat/completions"
            relay = f"http://127.0.0.1:{p_port}/v1/chat/completions"
            _stream_delays_in_turns(guard, relay, up, pieces, 5)  # warm-up
            gd, pd = _stream_delays_in_turns(guard, relay, up, pieces, streams)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(10)
    print(f"\nstreaming, {streams} streams, {len(pieces)} chunks of 2 chars, {chunk_delay * 1000:.0f} ms apart (ms)")
    print(f"  pass-through: last token sent -> token received       p50={_ms(pd, 50):6.3f}  p99={_ms(pd, 99):6.3f}")
    print(f"  guard: last token sent -> sentence received        p50={_ms(gd, 50):6.3f}  p99={_ms(gd, 99):6.3f}")
    print(f"  release delay (guard - pass-through)             p50={_ms(gd, 50) - _ms(pd, 50):6.3f}  "
          f"p99={_ms(gd, 99) - _ms(pd, 99):6.3f}   (target <= 1 ms)")
    latency_headline("proxy", "streaming: sentence's last token sent → received", gd,
                     baseline="pass-through relay (the token)", base_seconds=pd, unit="ms",
                     target="release delay ≤ 1 ms", limit_added=1.0, with_rate=False,
                     note=f"delay p50 {_ms(gd, 50) - _ms(pd, 50):.3f} / p99 {_ms(gd, 99) - _ms(pd, 99):.3f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_proxy")
    parser.add_argument("--requests", type=int, default=None, help="default 2000 (500 with --quick)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per throughput round (default 1.5)")
    parser.add_argument("--rounds", type=int, default=None, help="throughput rounds per server and concurrency (default 12, 6 with --quick)")
    parser.add_argument("--streams", type=int, default=None, help="default 100 (40 with --quick)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--serve", choices=["guard", "passthrough"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(args.serve, args.port, args.upstream)
        return
    q = args.quick
    ticks = cpu_ticks()
    run(args.requests or (500 if q else 2000), args.duration or 1.5, args.streams or (40 if q else 100),
        args.rounds or (6 if q else 12))
    steal = steal_share(ticks, cpu_ticks())
    if steal is not None:
        # On a shared VM the p99s of the guard and of the relay both carry the host's stalls.
        print(f"\nduring this run {steal_note(steal)}")


if __name__ == "__main__":
    main()
