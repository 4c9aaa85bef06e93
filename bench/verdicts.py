"""Every verdict of the checks on real text, to show that a speed-up changed no verdict.

    python -m bench.verdicts dump OUT.jsonl [--policies default|all] [--limit N] [--data DIR]
    python -m bench.verdicts compare BEFORE.jsonl AFTER.jsonl

`dump` evaluates, with `model_in_loop=True` as the proxy does, each text × each of two customer
records × the default policy (or every shipped policy with `--policies all`), and writes one JSON
line per evaluation: the text's number, the record, the policy, the decision, the released text
and every finding (code, span, action, replacement, detail). The texts are a few fixed replies
that trip every check, then CLUENER (dev and train) and both questions of every AFQMC dev pair
from the shared data (`--data`, default `../shared/data`; skipped with a message when absent;
`--limit` keeps the first N texts of each file).

`compare` exits 0 when the two dumps are identical, else 1, printing how many lines differ and
the first of them.

Used for changes meant to be pure speed-ups of the checks (docs/benchmarks.md, "Proxy"): dump at
the old commit (a git worktree, with its own compiled modules: `python -m guard.native_build`
there) and at the new one, then compare.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import SHARED_DATA

__all__ = ["RECORDS", "TEXTS", "compare", "dump", "main", "texts"]

RECORDS: tuple[dict[str, Any], ...] = (
    {"customer_id": "B1", "name": "张飞", "gender": "male", "credit_line": 4000},
    {"customer_id": "B2", "name": "李娜", "gender": "female", "credit_line": 50000, "age": 30,
     "coupons": [{"kind": "interest_free", "days": 30}]},
)
# Replies that trip every check: amounts in three notations, PII of five kinds, an evaded
# tier-3 phrase, coupons, full-width digits, other people's names and an address.
TEXTS: tuple[str, ...] = (
    "张先生您好，我是小安金融的客服。您的借款申请已经审核通过了，现在可以随时在App里操作。",
    "您的额度是4000元，可借四千元，最高可借0.4万元。",
    "请拨打13812345678或发邮件到wang@example.com",
    "身份证号110101199003077777，卡号6222021234567890123",  # both checksums fail: no PII
    "身份证号110101199003077774，卡号6222021234567890128",  # both checksums pass
    "稳 赚不赔，保本保息！",
    "张先生，您有一张30天免息券，8折利率券。",
    "１２３４５６７８９０１",
    "第一期还款３,000元，下月1日前",
    "王小明和李四在北京市海淀区中关村大街1号",
    "李女士您好，您今年35岁，额度五万元，可领取一张免息券。",
)


def texts(data: Path, limit: int | None = None) -> Iterator[str]:
    """The fixed replies, then the shared corpora's texts that exist under `data`."""
    yield from TEXTS
    for name in ("dev.jsonl", "train.jsonl"):
        path = data / "cluener" / name
        if not path.is_file():
            print(f"skipped: {path} not found", file=sys.stderr)
            continue
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh):
                if limit is not None and n >= limit:
                    break
                yield json.loads(line)["text"]
    path = data / "afqmc" / "dev.csv"
    if not path.is_file():
        print(f"skipped: {path} not found", file=sys.stderr)
        return
    with path.open(encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh)):
            if limit is not None and n >= limit:
                break
            yield row["sentence1"]
            yield row["sentence2"]


def dump(out: Path, *, every_policy: bool = False, limit: int | None = None, data: Path = SHARED_DATA) -> int:
    """Write the verdicts (one JSON line per evaluation) to `out`; the number of lines."""
    from guard.engine import evaluate
    from guard.policy.loader import load_policy_set
    from guard.types import CustomerRecord

    policy_set = load_policy_set()
    names = sorted(policy_set.policies) if every_policy else [policy_set.default]
    policies = [policy_set.get(name) for name in names]
    records = [CustomerRecord.model_validate(r) for r in RECORDS]
    lines = 0
    with out.open("w", encoding="utf-8") as fh:
        for i, text in enumerate(texts(data, limit)):
            for record in records:
                for policy in policies:
                    v = evaluate(policy, record, text, model_in_loop=True)
                    findings = [(f.code, f.start, f.end, f.action.value, f.replacement, f.detail) for f in v.violations]
                    row = [i, record.customer_id, policy.name, v.decision.value, v.released, findings]
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                    lines += 1
    return lines


def compare(before: Path, after: Path, *, show: int = 5) -> int:
    """0 when the two dumps are identical; else 1, after printing the differences."""
    a = before.read_text(encoding="utf-8").splitlines()
    b = after.read_text(encoding="utf-8").splitlines()
    differing = [k for k in range(min(len(a), len(b))) if a[k] != b[k]]
    if not differing and len(a) == len(b):
        print(f"identical: {len(a)} verdicts")
        return 0
    if len(a) != len(b):
        print(f"different lengths: {len(a)} against {len(b)} verdicts")
    print(f"{len(differing)} of {min(len(a), len(b))} verdicts differ")
    for k in differing[:show]:
        print(f"line {k + 1}:\n  - {a[k]}\n  + {b[k]}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.verdicts", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="write every verdict to a JSON-lines file")
    d.add_argument("out", type=Path)
    d.add_argument("--policies", choices=("default", "all"), default="default")
    d.add_argument("--limit", type=int, default=None, help="texts per corpus file (default: all)")
    d.add_argument("--data", type=Path, default=SHARED_DATA, help="the shared data folder")
    c = sub.add_parser("compare", help="exit 0 when two dumps are identical, else 1")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "dump":
        n = dump(args.out, every_policy=args.policies == "all", limit=args.limit, data=args.data)
        print(f"wrote {n} verdicts to {args.out}")
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    raise SystemExit(main())
