"""Hot reload: how fast a saved edit serves, and whether requests fail while policies reload.

    python -m bench.bench_policy_reload [--edits 30] [--reloads 100]

1. save → serve: the shipped policies/ copied to a temp folder, a `PolicyWatcher` running; each
   edit is saved the way editors do (write a temp file, rename it over the policy) and timed until
   `registry.current` has the new version. Baseline: one `registry.reload()` (validating the
   whole folder) without a watcher, in the same run.
2. reloads under load: two threads evaluate a reply on `registry.current` in a loop while the
   main thread saves and reloads 100 times alternating two valid versions. Every verdict must
   carry the version of the policy object it was computed with and that version's decision.
   Baseline: the same threads for the same time without reloads.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

from bench.common import REPO_ROOT, Headline, headline, latency_headline, percentile, summarize
from guard.engine import evaluate
from guard.policy.registry import PolicyRegistry, PolicyWatcher
from guard.types import CustomerRecord, Decision

RECORD = CustomerRecord(customer_id="C1", name="张飞", gender="male", credit_line=Decimal(4000))
# second sentence: 47 characters — over a 45 limit, within 50
REPLY = "张先生您好。我们这次为老客户准备了专属的借款方案，您在手机上点开就能查看，审核速度很快当天就能到账了哦。"
TARGET = "outbound_marketing.yaml"


def _save(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _versions(folder: Path) -> tuple[str, str]:
    text = (folder / TARGET).read_text(encoding="utf-8")
    assert "sentence_max: 50" in text
    return text, text.replace("sentence_max: 50", "sentence_max: 45")


def bench_save_to_serve(folder: Path, edits: int) -> list[float]:
    reg = PolicyRegistry(folder)
    a, b = _versions(folder)
    baseline = []
    for _ in range(10):
        t0 = time.perf_counter()
        reg.reload()
        baseline.append(time.perf_counter() - t0)
    print(summarize("baseline: reload() of the whole folder", baseline))
    latencies = []
    with PolicyWatcher(reg):
        for i in range(edits):
            old = reg.current.version
            t0 = time.perf_counter()
            _save(folder / TARGET, b if i % 2 == 0 else a)
            while reg.current.version == old:
                if time.perf_counter() - t0 > 10:
                    raise SystemExit("edit not served within 10 s")
                time.sleep(0.001)
            latencies.append(time.perf_counter() - t0)
            time.sleep(0.05)
    _save(folder / TARGET, a)  # leave the folder as it was, whatever the number of edits
    print(summarize(f"save → serving (watcher), {edits} edits", latencies))
    print(f"  max = {max(latencies) * 1000:.0f} ms (target < 1000 ms)")
    latency_headline("policy reload", f"save → serving (watcher), {edits} edits", latencies, unit="ms",
                     baseline="one reload() without watcher", base_seconds=baseline, with_rate=False,
                     target="< 1 s (every edit)", limit=1000, note=f"max {max(latencies) * 1000:.0f} ms")
    return latencies


def _hammer(reg: PolicyRegistry, stop: threading.Event, expected: dict[str, Decision], stats: dict[str, int]) -> None:
    while not stop.is_set():
        try:
            policy = reg.current.select(None, RECORD.segment)
            v = evaluate(policy, RECORD, REPLY)
            if v.policy_version != policy.version or v.decision is not expected.get(v.policy_version):
                stats["mixed"] += 1
            stats["requests"] += 1
        except Exception:
            stats["failed"] += 1


def bench_reloads_under_load(folder: Path, reloads: int) -> None:
    reg = PolicyRegistry(folder)
    a, b = _versions(folder)
    _save(folder / TARGET, a)
    reg.reload()
    va = reg.current.select().version
    _save(folder / TARGET, b)
    reg.reload()
    vb = reg.current.select().version
    expected = {va: Decision.ALLOW, vb: Decision.REVISE}

    def run(with_reloads: bool, duration: float | None) -> tuple[dict[str, int], float, list[float]]:
        stop = threading.Event()
        stats = [{"requests": 0, "failed": 0, "mixed": 0} for _ in range(2)]
        threads = [threading.Thread(target=_hammer, args=(reg, stop, expected, s)) for s in stats]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        reload_times = []
        if with_reloads:
            for i in range(reloads):
                _save(folder / TARGET, a if i % 2 == 0 else b)
                r0 = time.perf_counter()
                outcome = reg.reload()
                reload_times.append(time.perf_counter() - r0)
                if not (outcome.ok and outcome.changed):
                    raise SystemExit(f"reload {i} did not swap: {outcome}")
        else:
            time.sleep(duration or 1.0)
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        total = {k: sum(s[k] for s in stats) for k in stats[0]}
        return total, elapsed, reload_times

    loaded, elapsed, reload_times = run(True, None)
    base, base_elapsed, _ = run(False, elapsed)
    print(summarize(f"reload() under load, {reloads} reloads", reload_times))
    print(
        f"with reloads   : {loaded['requests']} requests in {elapsed:.2f} s = {loaded['requests'] / elapsed:,.0f}/s;"
        f" failed {loaded['failed']}, mixed versions {loaded['mixed']}"
    )
    print(
        f"baseline       : {base['requests']} requests in {base_elapsed:.2f} s = {base['requests'] / base_elapsed:,.0f}/s;"
        f" failed {base['failed']}, mixed versions {base['mixed']}"
    )
    print(f"p99 reload under load = {percentile([t * 1000 for t in reload_times], 99):.1f} ms")
    headline(Headline(
        "policy reload", f"evaluate() in 2 threads during {reloads} reloads", "ms",
        per_s=loaded["requests"] / elapsed, baseline="same threads, no reloads",
        base_per_s=base["requests"] / base_elapsed, target="0 failed requests",
        met=loaded["failed"] == 0 and loaded["mixed"] == 0,
        note=f"{loaded['failed']} failed, {loaded['mixed']} mixed versions of {loaded['requests']:,}",
    ))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edits", type=int, default=None, help="default 30 (15 with --quick)")
    parser.add_argument("--reloads", type=int, default=100, help="kept at 100 with --quick: it is the target")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    args.edits = args.edits or (15 if args.quick else 30)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "policies"
        shutil.copytree(REPO_ROOT / "policies", folder)
        print(f"policies: {len(list(folder.glob('*.yaml'))) - len(list(folder.glob('*.cases.yaml')))} policy files (a copy of the shipped folder)")
        bench_save_to_serve(folder, args.edits)
        bench_reloads_under_load(folder, args.reloads)


if __name__ == "__main__":
    main()
