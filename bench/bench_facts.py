"""Benchmark the facts check alone: µs per ~50-character reply, recall and false flags.

    python -m bench.bench_facts [--n 2000] [--seed 7]

Generated replies mix a greeting (right or wrong surname, honorific), a credit-line claim in
one of many written forms (right or wrong value), a coupon and an age clause. Baselines in the
same run: a naive regex-only number check (Arabic digits only) and cn2an's `transform` on the
same inputs (the usual way to normalise Chinese numerals before comparing).
Also printed: recall on the generated wrong claims, false flags on the generated right replies,
and (when ../shared/data is present) the share of AFQMC dev sentences flagged with a synthetic
record.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from bench.common import SHARED_DATA, latency_headline, summarize, time_each
from guard.checks.base import CheckInput, PolicyContext
from guard.checks.facts import FACTS
from guard.text.amounts import NumberStyle, format_number
from guard.text.sentences import split_sentences
from guard.types import CustomerRecord

STYLES = [
    NumberStyle(),
    NumberStyle(sep=","),
    NumberStyle(decimals=2),
    NumberStyle(fullwidth=True),
    NumberStyle(form="scaled", scale="万"),
    NumberStyle(form="scaled", scale="千"),
    NumberStyle(form="chinese"),
    NumberStyle(form="capital"),
]
GREETINGS = ["{h}您好，", "您好{h}，", "{h}，", "尊敬的{h}，"]
CLAIMS = ["您的额度是{a}元，", "您最高可借{pre}{a}，", "{a}块的可用额度已到账，", "您现在能借{a}元，"]
TAILS = [
    "您有一张免息券，可免息30天，现在借款最划算，欢迎您随时使用。",
    "借款可享8折利率，还有50元现金券，今天之内领取有效，别错过哦。",
    "您今年35岁，正是用钱的时候，资金周转随借随还，用起来很方便。",
    "每月还款只要300元，手续费全免，提前还款也不收违约金，很划算。",
    "随借随还，按日计息，最快三分钟到账，有问题欢迎随时咨询我们。",
]


def _record() -> CustomerRecord:
    return CustomerRecord.model_validate(
        {
            "customer_id": "B1",
            "name": "张飞",
            "gender": "male",
            "age": 35,
            "credit_line": 4000,
            "coupons": [
                {"kind": "interest_free", "days": 30},
                {"kind": "rate_discount", "discount": 0.8},
                {"kind": "cash", "amount": 50},
            ],
        }
    )


def generate(n: int, seed: int) -> list[tuple[str, bool]]:
    """(reply, has a wrong fact) pairs; about half carry one wrong name, gender or line."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        wrong = rng.random() < 0.5
        kind = rng.choice(["name", "gender", "line"]) if wrong else ""
        h = {"name": rng.choice(["李先生", "王先生", "章飞先生", "张非"]), "gender": rng.choice(["张女士", "张小姐"])}.get(
            kind, rng.choice(["张先生", "张飞先生", "张总"])
        )
        value = Decimal(rng.choice([5000, 4500, 20000, 3000, 400])) if kind == "line" else Decimal(4000)
        style = rng.choice(STYLES)
        pre = "￥" if style.form == "arabic" and rng.random() < 0.3 else ""
        reply = (
            rng.choice(GREETINGS).format(h=h)
            + rng.choice(CLAIMS).format(a=format_number(value, style), pre=pre)
            + rng.choice(TAILS)
        )
        out.append((reply, wrong))
    return out


def naive_regex(record: CustomerRecord) -> Callable[[str], bool]:
    digits = re.compile(r"\d+")
    line = str(int(record.credit_line or 0))

    def check(reply: str) -> bool:
        return any(m != line for m in digits.findall(reply) if len(m) >= 3)

    return check


def afqmc_sentences(limit: int = 100_000) -> list[str]:
    path = Path(SHARED_DATA) / "afqmc" / "dev.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return list(dict.fromkeys(s for r in rows for s in (r["sentence1"], r["sentence2"])))[:limit]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=None, help="generated replies (default 2000, 1000 with --quick)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="1000 replies")
    args = ap.parse_args(argv)
    n = args.n or (1000 if args.quick else 2000)

    record = _record()
    check = FACTS.build_from({}, PolicyContext(Path(".")))
    cases = generate(n, args.seed)
    replies = [r for r, _ in cases]
    inputs = {r: CheckInput(r, record, split_sentences(r)) for r in replies}
    mean_len = sum(len(r) for r in replies) / len(replies)
    print(f"facts check on {len(replies)} generated replies, mean {mean_len:.1f} characters (one core, shared machine)")

    raw = time_each(lambda r: check.run(inputs[r]), replies, repeat=5)
    print(summarize("facts check (guard), every run", raw))
    # Per reply, the fastest of 5 runs: the check's own cost without the scheduler's preemptions
    # (the machine is shared with other jobs, so single runs include time slices lost to them).
    best = [min(raw[i + k * len(replies)] for k in range(5)) for i in range(len(replies))]
    print(summarize("facts check (guard), best of 5 per reply", best))
    naive_t = time_each(naive_regex(record), replies, repeat=5)
    print(summarize("baseline: naive regex number check", naive_t))
    base_label, base_raw, base_best = "naive regex (Arabic digits only)", naive_t, naive_t
    try:
        import warnings

        import cn2an

        warnings.simplefilter("ignore")  # cn2an warns on every form it cannot read (万, 千 …)
        cn = time_each(lambda r: cn2an.transform(r, "cn2an"), replies, repeat=5)
        print(summarize("baseline: cn2an.transform only, every run", cn))
        cn_best = [min(cn[i + k * len(replies)] for k in range(5)) for i in range(len(replies))]
        print(summarize("baseline: cn2an.transform, best of 5", cn_best))
        base_label, base_raw, base_best = "cn2an.transform alone", cn, cn_best
    except ImportError:
        print("baseline: cn2an not installed (pip install cn2an)")
    latency_headline("facts", "facts check, every run", raw, baseline=base_label, base_seconds=base_raw,
                     target="p99 ≤ 100 µs", limit=100)
    latency_headline("facts", "facts check, best of 5 per reply", best, baseline=base_label, base_seconds=base_best,
                     target="p99 ≤ 100 µs", limit=100)

    caught = sum(1 for r, wrong in cases if wrong and check.run(inputs[r]))
    wrong_total = sum(1 for _, wrong in cases if wrong)
    false = sum(1 for r, wrong in cases if not wrong and check.run(inputs[r]))
    right_total = len(cases) - wrong_total
    naive = naive_regex(record)
    naive_caught = sum(1 for r, wrong in cases if wrong and naive(r))
    naive_false = sum(1 for r, wrong in cases if not wrong and naive(r))
    print(f"recall on wrong replies:      guard {caught}/{wrong_total}   naive regex {naive_caught}/{wrong_total}")
    print(f"false flags on right replies: guard {false}/{right_total}   naive regex {naive_false}/{right_total}")

    sents = afqmc_sentences()
    if sents:
        flagged = sum(1 for s in sents if check.run(CheckInput(s, record, split_sentences(s))))
        print(f"AFQMC dev sentences flagged (synthetic record 张飞/4000): {flagged}/{len(sents)} = {flagged / len(sents):.2%}")
    else:
        print("AFQMC not found under ../shared/data: skipped")


if __name__ == "__main__":
    main()
