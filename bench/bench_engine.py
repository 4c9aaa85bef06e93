"""Whole engine on the default policy: µs per reply, clean and violating, against a baseline.

    python -m bench.bench_engine [--n 2000]

The baseline is the cheapest thing that still looks at every reply: sentence splitting alone.
"""

from __future__ import annotations

import argparse
import random

from bench.common import latency_headline, summarize, time_each
from guard.engine import evaluate
from guard.policy.loader import load_policy_set
from guard.text.sentences import split_sentences
from guard.types import CustomerRecord

RECORD = CustomerRecord.model_validate(
    {
        "customer_id": "C1",
        "name": "张飞",
        "gender": "male",
        "age": 35,
        "credit_line": 4000,
        "coupons": [{"kind": "interest_free", "days": 30}],
        "phone": "13812345678",
        "segment": "repeat_loan",
    }
)

CLEAN = [
    "张先生您好，您的4000元额度已经审核通过了，现在就可以借款。",
    "张先生，您这边还有30天免息券可以用，借款更划算。",
    "好的张先生，那我稍后把操作步骤发给您，您看方便吗？",
    "您好，我是小安，想跟您确认一下本月的还款安排。",
    "张先生，额度四千元随借随还，按日计息，提前还款不收手续费。",
]
VIOLATING = [
    "李先生您好，您的5000元额度已经审核通过了。",
    "张女士，您的最高可借额度是五千元，今天就能到账。",
    "这款产品稳 赚不赔，您放心借，百分百通过。",
    "跟您核对一下，您的身份证号是11010519491231002X，对吗？",
    "我们会把合同发到您的手机13812345678上，请注意查收。",
    "张先生您好。我们这次为老客户准备的专属活动非常划算而且手续简单方便快捷只需要在手机上动动手指填写几项基本信息就可以马上提交申请了。",
]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=None, help="replies per series (default 2000, 1000 with --quick)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    args.n = args.n or (1000 if args.quick else 2000)
    rng = random.Random(7)
    policy = load_policy_set().select()
    print(f"engine benchmark — policy {policy.name} ({policy.version}), checks: {[c.name for c in policy.checks]}")
    clean = [rng.choice(CLEAN) for _ in range(args.n)]
    bad = [rng.choice(VIOLATING) for _ in range(args.n)]

    def run(reply: str) -> object:
        return evaluate(policy, RECORD, reply)

    base = time_each(split_sentences, clean)
    t_clean = time_each(run, clean)
    t_bad = time_each(run, bad)
    print(summarize("baseline: split_sentences only", base))
    print(summarize("engine, clean replies", t_clean))
    print(summarize("engine, violating replies", t_bad))
    clean_p = sorted(t_clean)[len(t_clean) // 2]
    base_p = sorted(base)[len(base) // 2]
    print(f"engine/baseline p50 ratio on clean replies: {clean_p / base_p:.1f}x")
    latency_headline("engine", "evaluate(), default policy, clean replies", t_clean,
                     baseline="split_sentences only", base_seconds=base)
    latency_headline("engine", "evaluate(), default policy, violating replies", t_bad,
                     baseline="split_sentences only", base_seconds=base)


if __name__ == "__main__":
    main()
