"""Guards side by side over HTTP: other commits, other policies, parts switched off — one relay.

    python -m bench.proxy_ab [--ref REF ...] [--drop-checks] [--ledger-normal] [--audit-off]
                             [--varied] [--concurrency 16] [--rounds 12] [--seconds 2]

`bench_proxy` compares one guard with the relay; a run on this 2-vCPU VM moves by several points
from one run to the next, more than most changes to the guard are worth. This one runs several
guards and the relay against one scripted upstream in the same rounds, the order rotating each
round, so that what differs between them is the guard and not the hour:

- `HEAD`: the guard of this checkout (always);
- `--ref REF`: the guard at git commit REF, from a temporary worktree with its own compiled
  check modules (built there first, about 100 s each) — a change against its parent;
- `--drop-checks`: the shipped default policy without each of its checks in turn, without the
  PII check's person names, and without any check — what each check costs in throughput;
- `--ledger-normal`: `GUARD_LEDGER_SYNC=normal` (the ledger commits on the event loop without an
  fsync: a supported setting that gives up the last commits on power loss) — what the durable
  commit's wait costs;
- `--audit-off`: `GUARD_AUDIT_ENABLED=false` (not a supported configuration: what the audit costs);
- `--varied`: the upstream answers 64 different replies, sentences of AFQMC's dev questions
  (the shared data) that the default policy lets through, instead of bench_proxy's one reply,
  so that no check sees the same text twice in a row.

Each server is bench_proxy's (`--serve guard` of its own tree, or `--serve passthrough`), loaded
with bench_proxy's keep-alive client. Reported per server: requests/s (mean of the rounds), its
share of the relay's, and its CPU time a request (median of the rounds; the guard's ledger writer
process included), with every round; then the hypervisor's share of the CPU time (steal) in each
round, which on a shared VM sets the figures of a round for every server alike.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.bench_proxy import RECORD, REPLY, _body, _cpu_seconds, _free_port, _throughput, _wait
from bench.common import REPO_ROOT, SHARED_DATA, cpu_ticks, steal_share

__all__ = ["Server", "check_variants", "main", "run", "start_upstream", "varied_replies"]

_VARIED = 64


@dataclass
class Server:
    """One server of the comparison and what its rounds measured."""

    name: str
    root: Path = REPO_ROOT
    env: dict[str, str] = field(default_factory=dict)
    relay: bool = False
    rates: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)


def varied_replies(n: int = _VARIED, data: Path = SHARED_DATA) -> list[str]:
    """`n` replies of about 60 characters made of AFQMC dev questions, each allowed as it is by
    the shipped default policy for bench_proxy's record; [] when the data is absent."""
    path = data / "afqmc" / "dev.csv"
    if not path.exists():
        return []
    from guard.engine import evaluate
    from guard.policy import load_policy_set
    from guard.policy.dates import business_today
    from guard.types import CustomerRecord

    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    questions = [q for row in rows for q in row[:2] if q]
    random.Random(7).shuffle(questions)
    policy = load_policy_set(None).select(None, None, today=business_today())
    record = CustomerRecord.model_validate(RECORD)
    out: list[str] = []
    while len(out) < n and questions:
        parts = ["张先生您好，"]
        while sum(map(len, parts)) < 60 and questions:
            parts.append(questions.pop() + "。")
        text = "".join(parts)
        if evaluate(policy, record, text, model_in_loop=True).decision.value == "allow":
            out.append(text)
    return out


def check_variants(folder: Path, out: Path) -> dict[str, Path]:
    """Copies of the policy folder `folder` under `out`, one per variant of its default policy:
    without each check, without the PII check's person names, without any check."""
    from guard.policy import load_policy_set
    from guard.policy.dates import business_today

    default = load_policy_set(folder).select(None, None, today=business_today())
    assert default.source is not None
    source = yaml.safe_load(default.source.read_text(encoding="utf-8"))
    checks = dict(source.get("checks") or {})
    edits: dict[str, dict[str, Any]] = {f"without {name}": {k: v for k, v in checks.items() if k != name} for name in checks}
    pii = checks.get("pii") or {}
    entities = pii.get("entities") or []
    if "person" in entities:
        edits["without person names"] = {**checks, "pii": {**pii, "entities": [e for e in entities if e != "person"]}}
    edits["without any check"] = {}
    variants: dict[str, Path] = {}
    for i, (name, kept) in enumerate(edits.items()):
        target = out / f"policies-{i}"
        shutil.copytree(folder, target)
        (target / default.source.name).write_text(
            yaml.safe_dump({**source, "checks": kept}, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        load_policy_set(target)  # a variant that does not load is a bug here, not a measurement
        variants[name] = target
    return variants


@contextmanager
def _worktree(ref: str, parent: Path) -> Iterator[Path]:
    """A checkout of `ref` with its compiled check modules built, removed afterwards."""
    path = parent / f"ref-{ref.replace('/', '_')}"
    subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", str(path), ref],
                   check=True, capture_output=True)
    try:
        print(f"building the compiled check modules of {ref} …", flush=True)
        subprocess.run([sys.executable, "-m", "guard.native_build"], cwd=path, check=True, capture_output=True,
                       env={**os.environ, "GUARD_NATIVE": "off", "PYTHONPATH": str(path)})
        yield path
    finally:
        subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(path)], capture_output=True)


def _spawn(server: Server, port: int, upstream: str, ledger: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(server.root), "GUARD_LEDGER": str(ledger), **server.env}
    kind = "passthrough" if server.relay else "guard"
    return subprocess.Popen(
        [sys.executable, "-m", "bench.bench_proxy", "--serve", kind, "--port", str(port), "--upstream", upstream],
        cwd=server.root, env=env, stdout=subprocess.DEVNULL,
    )


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(10)


def start_upstream(folder: Path, scenarios: dict[str, str], procs: list[subprocess.Popen[bytes]]) -> str:
    """The scripted upstream answering `scenarios` (written to `folder`), started and appended to
    `procs`, once it answers; its base URL."""
    (folder / "scenarios.json").write_text(json.dumps(scenarios, ensure_ascii=False), encoding="utf-8")
    port = _free_port()
    upstream = f"http://127.0.0.1:{port}/v1"
    procs.append(subprocess.Popen([sys.executable, "-m", "guard.testing.scripted_upstream", "--scenarios",
                                   str(folder / "scenarios.json"), "--port", str(port)], stdout=subprocess.DEVNULL))
    _wait(upstream + "/models", procs[-1])
    return upstream


def run(
    servers: list[Server],
    *,
    replies: list[str],
    concurrency: int,
    rounds: int,
    seconds: float,
    steal: list[float | None] | None = None,
) -> list[Server]:
    """Load every server in the same rounds (the order rotating); fill in their rates and CPU.

    `steal`, if given, gets the hypervisor's share of the CPU time in each round (None if unknown).
    """
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        scenarios = {f"r{i}": text for i, text in enumerate(replies)}
        bodies = []
        for name in scenarios:
            body = _body()
            body["messages"][0]["content"] = f"[[{name}]] 你好"
            bodies.append(body)
        procs: list[subprocess.Popen[bytes]] = []
        stack.callback(_stop, procs)
        upstream = start_upstream(folder, scenarios, procs)
        urls: dict[str, tuple[str, int]] = {}
        for i, server in enumerate(servers):
            port = _free_port()
            proc = _spawn(server, port, upstream, folder / f"ledger-{i}.db")
            procs.append(proc)
            _wait(f"http://127.0.0.1:{port}" + ("/docs" if server.relay else "/healthz"), proc)
            urls[server.name] = (f"http://127.0.0.1:{port}/v1/chat/completions", proc.pid)
        for url, _ in urls.values():  # warm-up
            asyncio.run(_throughput(url, concurrency, 0.5, bodies))
        for r in range(rounds):
            ticks = cpu_ticks()
            for server in servers[r % len(servers):] + servers[: r % len(servers)]:
                url, pid = urls[server.name]
                before = _cpu_seconds(pid)
                rate, elapsed = asyncio.run(_throughput(url, concurrency, seconds, bodies))
                server.rates.append(rate)
                server.cpu_ms.append((_cpu_seconds(pid) - before) / max(1.0, rate * elapsed) * 1000)
            if steal is not None:
                steal.append(steal_share(ticks, cpu_ticks()))
    return servers


def _report(servers: list[Server], concurrency: int, steal: list[float | None] | None = None) -> None:
    relay = statistics.fmean(servers[0].rates)
    print(f"\nconcurrency {concurrency}, {len(servers[0].rates)} rounds each (requests/s, mean; CPU a request, median)")
    for s in servers:
        rate = statistics.fmean(s.rates)
        print(f"  {s.name:<26} {rate:7.0f}/s  {rate / relay:6.1%} of the relay  CPU {statistics.median(s.cpu_ms):.3f} ms"
              f"   rounds {' '.join(f'{x:.0f}' for x in s.rates)}")
    known = [x for x in steal or () if x is not None]
    if known:  # a round with steal is a round whose figures the host set, for every server alike
        print(f"  steal in each round: {' '.join(f'{x:.1%}' for x in known)} (mean {statistics.fmean(known):.1%})")


def main(argv: list[str] | None = None) -> list[Server]:
    parser = argparse.ArgumentParser(prog="python -m bench.proxy_ab", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", action="append", default=[], help="a git commit to compare (repeatable)")
    parser.add_argument("--drop-checks", action="store_true", help="the default policy without each check")
    parser.add_argument("--ledger-normal", action="store_true", help="a guard with GUARD_LEDGER_SYNC=normal")
    parser.add_argument("--audit-off", action="store_true", help="a guard with GUARD_AUDIT_ENABLED=false")
    parser.add_argument("--varied", action="store_true", help=f"{_VARIED} different replies from AFQMC dev")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    replies = [REPLY]
    if args.varied:
        replies = varied_replies()
        if not replies:
            parser.error(f"--varied needs AFQMC's dev.csv under {SHARED_DATA / 'afqmc'}")
    servers = [Server("relay", relay=True), Server("HEAD")]
    with tempfile.TemporaryDirectory(prefix="bench-ab-setup-") as tmp, ExitStack() as stack:
        for ref in args.ref:
            servers.append(Server(ref, root=stack.enter_context(_worktree(ref, Path(tmp)))))
        if args.drop_checks:
            from guard.policy.loader import DEFAULT_POLICY_DIR

            for name, folder in check_variants(DEFAULT_POLICY_DIR, Path(tmp)).items():
                servers.append(Server(name, env={"GUARD_POLICY_PATH": str(folder)}))
        if args.ledger_normal:
            servers.append(Server("ledger sync=normal", env={"GUARD_LEDGER_SYNC": "normal"}))
        if args.audit_off:
            servers.append(Server("audit off", env={"GUARD_AUDIT_ENABLED": "false"}))
        print(f"{len(servers)} servers, {len(replies)} different repl{'y' if len(replies) == 1 else 'ies'}, "
              f"concurrency {args.concurrency}, {args.rounds} rounds of {args.seconds:g} s", flush=True)
        steal: list[float | None] = []
        run(servers, replies=replies, concurrency=args.concurrency, rounds=args.rounds, seconds=args.seconds, steal=steal)
    _report(servers, args.concurrency, steal)
    return servers


if __name__ == "__main__":
    main()
