"""PII benchmark: recall/precision per entity, CLUENER names and addresses, µs per reply.

Run: `python -m bench.bench_pii` (add `--quick` for a smaller run). Everything is compared in the
same run with Presidio's default recognizers on a blank spaCy zh pipeline, and the timing with
Presidio's full `analyze()` (default and our recognizers) and with a plain `re` baseline.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import SHARED_DATA, latency_headline, percentile, summarize, time_each
from guard.checks.base import CheckInput, PolicyContext
from guard.checks.pii import PiiCheck, PiiConfig, samples
from guard.checks.pii.analyzer import PiiAnalyzer, combine_names, default_presidio_engine, presidio_engine
from guard.checks.pii.check import build_pii_check
from guard.checks.pii.recognizers import ENTITY_CODES
from guard.checks.pii.recognizers.lac import shared_tagger
from guard.checks.pii.recognizers.person import COMPOUND_SURNAMES, NAME_STARTS, SURNAMES, model_names
from guard.text.sentences import split_sentences
from guard.types import CustomerRecord

# A customer whose name occurs nowhere in CLUENER, so no name there is the customer's own.
RECORD = CustomerRecord(customer_id="bench", name="司马未现", gender="female")

# Presidio's default entity types → our codes, for the comparison.
_PRESIDIO_CODES = {
    "PHONE_NUMBER": "pii.phone",
    "EMAIL_ADDRESS": "pii.email",
    "CREDIT_CARD": "pii.bank_card",
    "PERSON": "pii.person",
    "LOCATION": "pii.address",
}

_TEMPLATES = (
    "您好，您的{kind}是{v}，请核对。",
    "{v}",
    "客户留的{kind}：{v}，已登记",
    "麻烦您记一下，{v}，谢谢！",
    "张先生，您尾号5678的账户关联的{kind}{v}已更新。",
)

_DECOYS = (
    "您的额度为4000元，最高可借50,000元。",
    "请于2026-12-31前还款，或者20261231之前。",
    "年利率7.2%，日利率0.02%，折扣8折。",
    "您尾号5678的银行卡扣款成功。",
    "验证码123456，五分钟内有效。",
    "订单号DD20261124000123已受理。",
    "客服热线95588，全国服务热线400-820-8820。",
    "还款日是每月15日，共12期，每期333.33元。",
    "本次借款编号2026112400012345，放款金额8000.00元。",
)


_DETAILED = re.compile(r"[0-9一二三四五六七八九十]+(?:号|室|栋|幢|单元|弄|层)|路|街|巷|胡同|小区")


_GOLD_EXTRA = re.compile(r"^[（(“\"]|[（(][A-Za-z .]*[)）]?$|[)）”\"]$")


def _trim_gold(text: str, start: int, end: int) -> tuple[int, int]:
    """A CLUENER name span without surrounding brackets or a trailing romanisation in brackets.

    CLUENER sometimes labels 卡杜（cadu） or （陆慧明） as the name; the name itself is 卡杜 / 陆慧明.
    """
    span = text[start:end]
    for _ in range(2):
        m = _GOLD_EXTRA.search(span)
        if m is None or m.end() - m.start() == len(span):
            break
        if m.start() == 0:
            start += m.end()
        else:
            end -= len(span) - m.start()
        span = text[start:end]
    return start, end


@dataclass
class Counts:
    tp: int = 0
    fn: int = 0
    fp: int = 0

    def line(self, label: str) -> str:
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")
        return f"  {label:<28} recall={recall:7.2%}  precision={precision:7.2%}  (tp={self.tp} fn={self.fn} fp={self.fp})"


Detector = Callable[[str], list[tuple[str, int, int]]]


def ours(check: PiiCheck) -> Detector:
    def detect(text: str) -> list[tuple[str, int, int]]:
        return [(f.code, f.start, f.end) for f in check.run(CheckInput(text, RECORD, split_sentences(text)))]

    return detect


def presidio_default() -> Detector:
    engine = default_presidio_engine()

    def detect(text: str) -> list[tuple[str, int, int]]:
        out = []
        for r in engine.analyze(text, language="zh"):
            code = _PRESIDIO_CODES.get(r.entity_type)
            if code is not None:
                out.append((code, r.start, r.end))
        return out

    return detect


def _identifiers(rng: random.Random, n: int) -> Iterable[tuple[str, str, str]]:
    makers: tuple[tuple[str, str, Callable[[], str]], ...] = (
        ("pii.phone", "手机号", lambda: samples.mobile(rng, "plain")),
        ("pii.phone", "手机号", lambda: samples.mobile(rng, "spaced")),
        ("pii.phone", "手机号", lambda: samples.mobile(rng, "dashed")),
        ("pii.phone", "手机号", lambda: samples.mobile(rng, "plus86")),
        ("pii.phone", "座机", lambda: samples.landline(rng)),
        ("pii.id_card", "身份证号", lambda: samples.id_card(rng)),
        ("pii.id_card", "身份证号", lambda: samples.id_card_15(rng)),
        ("pii.bank_card", "卡号", lambda: samples.bank_card(rng)),
        ("pii.email", "邮箱", lambda: samples.email(rng)),
    )
    for _ in range(n):
        for code, kind, make in makers:
            yield code, kind, make()


def identifier_scores(detect: Detector, n: int, seed: int = 1) -> dict[str, Counts]:
    """Recall on generated identifiers in templates (exact span), per code."""
    rng = random.Random(seed)
    counts: dict[str, Counts] = {}
    for code, kind, value in _identifiers(rng, n):
        text = rng.choice(_TEMPLATES).format(kind=kind, v=value)
        start = text.index(value)
        hits = detect(text)
        c = counts.setdefault(code, Counts())
        if (code, start, start + len(value)) in hits:
            c.tp += 1
        else:
            c.fn += 1
        c.fp += sum(1 for h in hits if h != (code, start, start + len(value)))
    return counts


def decoy_false_positives(detect: Detector, n: int, seed: int = 2) -> tuple[int, int, dict[str, int]]:
    """Texts with amounts, dates, percentages, 尾号, bad 18-digit numbers, codes: every hit is wrong."""
    rng = random.Random(seed)
    texts = list(_DECOYS)
    texts += [f"流水号{samples.bad_checksum_18(rng)}，请保留。" for _ in range(n)]
    texts += [
        f"验证码{rng.randrange(100000, 999999)}，金额{rng.randrange(100, 99999)}元，利率{rng.randrange(1, 24)}.{rng.randrange(0, 99)}%。"
        for _ in range(n)
    ]
    by_code: dict[str, int] = {}
    for t in texts:
        for code, _s, _e in detect(t):
            by_code[code] = by_code.get(code, 0) + 1
    return len(texts), sum(by_code.values()), by_code


def cluener_scores(detect: Detector, limit: int | None) -> dict[str, Counts] | None:
    """pii.person (exact span) and pii.address (any overlap) on CLUENER dev."""
    path = SHARED_DATA / "cluener" / "dev.jsonl"
    if not path.exists():
        return None
    strict, person, address, detailed = Counts(), Counts(), Counts(), Counts()
    with path.open(encoding="utf-8") as fh:
        lines = [json.loads(line) for line in fh]
    for row in lines[:limit]:
        text = row["text"]
        raw_names = {(s, e + 1) for spans in row["label"].get("name", {}).values() for s, e in spans}
        gold_names = {_trim_gold(text, s, e) for s, e in raw_names}
        gold_addr = [(s, e + 1) for spans in row["label"].get("address", {}).values() for s, e in spans]
        hits = detect(text)
        names = {(s, e) for code, s, e in hits if code == "pii.person"}
        person.tp += len(names & gold_names)
        person.fp += len(names - gold_names)
        person.fn += len(gold_names - names)
        strict.tp += len(names & raw_names)
        strict.fp += len(names - raw_names)
        strict.fn += len(raw_names - names)
        addrs = [(s, e) for code, s, e in hits if code == "pii.address"]
        matched = [any(s < ge and gs < e for s, e in addrs) for gs, ge in gold_addr]
        address.tp += sum(matched)
        address.fn += len(matched) - sum(matched)
        address.fp += sum(1 for s, e in addrs if not any(s < ge and gs < e for gs, ge in gold_addr))
        for (gs, ge), hit in zip(gold_addr, matched, strict=True):
            if _DETAILED.search(text[gs:ge]):
                detailed.tp += hit
                detailed.fn += not hit
    detailed.fp = address.fp
    return {
        "pii.person (exact span)": strict,
        "pii.person (exact, brackets off)": person,
        "pii.address (overlap)": address,
        "pii.address, gold with 路/号/室…": detailed,
    }


_LATIN = re.compile(r"[A-Za-z0-9]")


def _name_kind(name: str) -> str:
    """Which kind of CLUENER name span this is, for the per-kind recall lines."""
    if _LATIN.search(name):
        return "Latin letters (Riddick)"
    if "·" in name or "•" in name:
        return "dotted foreign (乔·怀特)"
    if name[:2] in COMPOUND_SURNAMES or (name[:1] in SURNAMES and 2 <= len(name) <= 3):
        return "surname + 1-2 characters"
    return "other (温格, 小苍, 波多尔斯基)"


def cluener_person_by_kind(
    detect: Detector, split: str, limit: int | None
) -> tuple[Counts, dict[str, Counts]] | None:
    """pii.person on one CLUENER split (exact span, brackets off): overall and recall per kind of name."""
    path = SHARED_DATA / "cluener" / f"{split}.jsonl"
    if not path.exists():
        return None
    total, kinds = Counts(), dict[str, Counts]()
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh][:limit]
    for row in rows:
        text = row["text"]
        gold = {
            _trim_gold(text, s, e + 1) for spans in row["label"].get("name", {}).values() for s, e in spans
        }
        names = {(s, e) for code, s, e in detect(text) if code == "pii.person"}
        total.tp += len(names & gold)
        total.fp += len(names - gold)
        total.fn += len(gold - names)
        for s, e in gold:
            c = kinds.setdefault(_name_kind(text[s:e]), Counts())
            c.tp += (s, e) in names
            c.fn += (s, e) not in names
        for s, e in names - gold:
            kinds.setdefault(_name_kind(text[s:e]), Counts()).fp += 1
    return total, kinds


Names = list[tuple[int, int, float]]


def cluener_person_sweep(split: str, limit: int | None) -> list[tuple[str, Counts]] | None:
    """pii.person on a CLUENER split for person_model=lac at several thresholds (brackets off).

    The rules and the tagger run once per sentence; each threshold then combines them the way
    the check does (`combine_names`). Also the tagger alone, without the rules.
    """
    path = SHARED_DATA / "cluener" / f"{split}.jsonl"
    if not path.exists():
        return None
    rules = PiiAnalyzer(["CN_PERSON"])
    tagger = shared_tagger()
    rows: list[tuple[set[tuple[int, int]], Names, Names, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for line in list(fh)[:limit]:
            row = json.loads(line)
            text = row["text"]
            spans = row["label"].get("name", {}).values()
            gold = {_trim_gold(text, s, e + 1) for group in spans for s, e in group}
            names = [(x.start, x.end, x.score) for x in rules.analyze(text)]
            found = tagger.person_spans(text, 0.5, NAME_STARTS)
            rows.append((gold, names, model_names(text, found.spans), found.begin))

    def count(label: str, pick: Callable[[Names, Names, Any], Names]) -> tuple[str, Counts]:
        c = Counts()
        for gold, names, tagged, begin in rows:
            got = {(a, b) for a, b, score in pick(names, tagged, begin) if score >= 0.5}  # min_score
            c.tp += len(got & gold)
            c.fp += len(got - gold)
            c.fn += len(gold - got)
        return label, c

    def rules_only(names: Names, tagged: Names, begin: Any) -> Names:
        return names

    def rules_and_lac(th: float) -> Callable[[Names, Names, Any], Names]:
        def pick(names: Names, tagged: Names, begin: Any) -> Names:
            return combine_names(names, [t for t in tagged if t[2] >= th], begin)

        return pick

    def lac_alone(th: float) -> Callable[[Names, Names, Any], Names]:
        def pick(names: Names, tagged: Names, begin: Any) -> Names:
            return [t for t in tagged if t[2] >= th]

        return pick

    out = [count("rules only (person_model=rules)", rules_only)]
    for th in (0.5, 0.8, 0.9, 0.93, 0.95, 0.98):
        out.append(count(f"rules + lac, threshold {th}", rules_and_lac(th)))
    for th in (0.5, 0.9, 0.95):
        out.append(count(f"lac alone, threshold {th}", lac_alone(th)))
    return out


def afqmc_false_hits(detect: Detector, limit: int | None) -> tuple[int, dict[str, int]] | None:
    """Findings on AFQMC's real questions about credit products (innocent text: every hit is wrong,
    apart from a real name or address a user typed, which the publisher did not remove)."""
    path = SHARED_DATA / "afqmc" / "dev.csv"
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    texts = sorted({t for row in rows for t in row[:2]})[:limit]
    by_code: dict[str, int] = {}
    for t in texts:
        for code, _s, _e in detect(t):
            by_code[code] = by_code.get(code, 0) + 1
    return len(texts), by_code


_CLEAN_REPLIES = (
    "张先生您好，您的4000元额度已经审核通过了，免息券30天内有效，请于2026年12月31日前使用哦。",
    "王女士您好，这边是某某金融的回访，您的借款已经结清，如有需要可以随时在APP里申请。",
    "李总您好，您的利率现在是年化7.2%，使用8折利率券后更低，最高可借五万元，欢迎试试。",
    "您好，您尾号5678的银行卡已扣款成功，本期还款333.33元，下期还款日是1月15日。",
    "刘先生，您申请的额度是三万元，审核通过后一般两个小时内到账，验证码请勿告诉他人。",
)
_PII_REPLIES = (
    "张先生您好，您的手机号13812345678已绑定，额度4000元已到账，请查收短信。",
    "您的朋友王小明留的电话是139 1234 5678，我们会和他确认一下借款的用途哦。",
    "王女士，您的身份证11010519491231002X已通过核验，额度五万元，请在APP确认。",
    "您的还款卡6222021234567890128扣款成功，邮箱wang@example.com会收到回单。",
    "请把材料寄到浙江省杭州市西湖区文三路90号，联系人李建国，电话0571-88886666。",
)
_PLAIN = re.compile(
    r"(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)\d{17}[\dXx](?!\d)|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
)


def cpu_time_each(fn: Callable[[str], object], inputs: list[str], repeat: int = 1) -> list[float]:
    """Seconds of this thread's CPU time per call: time spent descheduled (other jobs on a shared
    machine) is not counted, so p99 shows our own cost rather than the neighbours'."""
    for x in inputs[:50]:
        fn(x)
    out = []
    clock = time.thread_time_ns
    for _ in range(repeat):
        for x in inputs:
            t0 = clock()
            fn(x)
            out.append((clock() - t0) / 1e9)
    return out


def timing(check: PiiCheck, repeat: int) -> None:
    ours_run = ours(check)
    ours_engine = presidio_engine()
    default_engine = default_presidio_engine()
    ent = list(ENTITY_CODES)
    targets = {"without PII": 150.0, "with PII": 400.0}
    for label, replies in (("without PII", _CLEAN_REPLIES), ("with PII", _PII_REPLIES)):
        inputs = list(replies) * 200
        print(f"  replies {label} (~{sum(len(r) for r in replies) // len(replies)} chars):")
        wall = time_each(ours_run, inputs, repeat)
        cpu = cpu_time_each(ours_run, inputs, repeat)
        print("   ", summarize("guard pii check (prefilter + recognizers)", wall))
        print("   ", summarize("  same, thread CPU time", cpu))
        print(
            "   ",
            summarize("baseline: plain re (mobile+ID+email)", time_each(_PLAIN.findall, inputs, repeat)),
        )
        print(
            "   ",
            summarize(
                "baseline: Presidio analyze(), our recognizers",
                time_each(lambda t: ours_engine.analyze(t, language="zh", entities=ent), inputs[:300]),
            ),
        )
        presidio = time_each(lambda t: default_engine.analyze(t, language="zh"), inputs[:300])
        print("   ", summarize("baseline: Presidio analyze(), defaults", presidio))
        latency_headline(
            "pii",
            f"pii check, replies {label}, wall clock",
            wall,
            baseline="Presidio analyze(), default recognizers",
            base_seconds=presidio,
            target=f"p99 ≤ {targets[label]:.0f} µs",
            limit=targets[label],
            note=f"thread CPU p99 {percentile(cpu, 99) * 1e6:.0f} µs",
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller samples")
    args = parser.parse_args(argv)
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)  # Presidio's URL recognizer tries the network
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    n = 100 if args.quick else 500
    check = PiiCheck(PiiConfig())
    lac_check = build_pii_check(PiiConfig(person_model="lac"), PolicyContext(Path(".")))
    detectors = {
        "guard pii": ours(check),
        "guard pii, person_model=lac": ours(lac_check),
        "Presidio defaults (blank zh)": presidio_default(),
    }

    print(f"== generated identifiers in templates ({n} of each of 9 kinds), exact span ==")
    for name, detect in detectors.items():
        print(f" {name}:")
        for code, counts in sorted(identifier_scores(detect, n).items()):
            print(counts.line(code))
    print("== decoys (amounts, dates, percentages, 尾号, 18-digit numbers failing both checksums, codes) ==")
    for name, detect in detectors.items():
        total, hits, by_code = decoy_false_positives(detect, n)
        print(f"  {name:<28} texts={total}  false hits={hits}  {by_code}")
    print("== CLUENER dev (real sentences; customer name does not occur) ==")
    for name, detect in detectors.items():
        scores = cluener_scores(detect, 300 if args.quick else None)
        if scores is None:
            print(f"  skipped: {SHARED_DATA / 'cluener' / 'dev.jsonl'} not found")
            break
        print(f" {name}:")
        for label, counts in scores.items():
            print(counts.line(label))
    for label in ("guard pii", "guard pii, person_model=lac"):
        for split in ("train", "dev"):
            by_kind = cluener_person_by_kind(detectors[label], split, 2000 if args.quick else None)
            if by_kind is None:
                break
            names_total, kinds = by_kind
            use = "rules, weights and threshold were chosen on it" if split == "train" else "held out"
            print(f"== CLUENER {split}, {label}: pii.person by kind of name ({use}) ==")
            print(names_total.line("all names"))
            for kind, counts in sorted(kinds.items(), key=lambda kv: -(kv[1].tp + kv[1].fn)):
                print(counts.line(kind))
    for split in ("train", "dev"):
        sweep = cluener_person_sweep(split, 2000 if args.quick else None)
        if sweep is None:
            break
        use = "the default threshold 0.93 was chosen on it" if split == "train" else "held out"
        print(f"== CLUENER {split}, pii.person with person_model=lac by threshold ({use}) ==")
        for label, counts in sweep:
            print(counts.line(label))
    print("== AFQMC dev (real user questions about 花呗/借呗; innocent text) ==")
    for name, detect in detectors.items():
        result = afqmc_false_hits(detect, 1000 if args.quick else None)
        if result is None:
            print(f"  skipped: {SHARED_DATA / 'afqmc' / 'dev.csv'} not found")
            break
        print(f"  {name:<28} texts={result[0]}  hits={sum(result[1].values())}  {result[1]}")
    print("== µs per reply (wall clock unless marked CPU; shared, loaded machine) ==")
    timing(check, 1 if args.quick else 5)
    print("== µs per reply with person_model=lac (the opt-in tagger; no target) ==")
    for label, replies in (("without PII", _CLEAN_REPLIES), ("with PII", _PII_REPLIES)):
        inputs = list(replies) * (20 if args.quick else 100)
        print(
            "   ",
            summarize(
                f"guard pii check, person_model=lac, replies {label}", time_each(ours(lac_check), inputs)
            ),
        )


if __name__ == "__main__":
    main()
