"""Lexicon benchmark: evasion recall per variant kind, false positives, latency.

    python -m bench.bench_lexicon [--quick]

For every tier >= 2 entry of the default lexicons it generates variants of each kind (spaces,
symbols, full-width, traditional, zero-width, repeats, emoji, mixed) inside agent-like carrier
sentences and reports recall per kind for the lexicon check and, in the same run, for a naive
substring matcher. False positives are counted on AFQMC (real 花呗/借呗 user questions, from
../shared/data/afqmc) and on clean agent replies written for this benchmark, also with the fwwdn
third-party lists loaded as an extra blocking tier. Latency is µs per reply of the whole check
(normalisation included) against raw automaton scans (ahocorasick_rs, pyahocorasick if installed).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.common import REPO_ROOT, SHARED_DATA, latency_headline, summarize, time_each
from guard.checks.base import CheckInput, PolicyContext
from guard.checks.lexicon import ExtraList, LexiconCheck, LexiconConfig, LexiconEntry, build_lexicon_check
from guard.text.sentences import split_sentences
from guard.types import CustomerRecord

__all__ = ["CLEAN_REPLIES", "DEFAULT_FILES", "VARIANT_KINDS", "default_check", "make_variant"]

DEFAULT_FILES = ("lexicons/marketing_claims.txt", "lexicons/conduct.txt", "lexicons/service_quality.txt")
POLICY_DIR = REPO_ROOT / "policies"
FWWDN = SHARED_DATA / "lexicons-fwwdn"
AFQMC = SHARED_DATA / "afqmc"

SPACES = (" ", "  ", "\u3000", "\t", "\u00a0")
SYMBOLS = tuple("*-_.,|/~·、。!?#@&+=^'\"()[]<>…—：；")
FULL_WIDTH_SYMBOLS = ("＊", "－", "＿", "｜", "　", "．", "，", "！", "＃", "＆")
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
COMBINING = ("\u0336", "\u0332", "\u0338", "\u20dd")  # strike-through, underline, slash, circle
WIDE_JUNK = (
    *SYMBOLS,
    *"\n【】（）《》「」♥★☆→←↑↓✓✔✗♪♫※〜～",
    *("🤣", "💯", "🔞", "⚠️", "👉", "🙂"),
    *ZERO_WIDTH,
    *COMBINING,
)
EMOJI = ("😀", "👍", "👍🏻", "❤️", "🔥", "💰", "✅", "🙏", "😂", "⭐", "🇨🇳", "👨‍👩‍👧")

CARRIERS = (
    "张先生您好，{}，您可以考虑一下。",
    "我们这款产品{}的，放心。",
    "{}",
    "女士您好，这边跟您说一下，{}。",
    "您听我说，{}，明白吗？",
)

CLEAN_REPLIES = (
    "张先生您好，我是某某消费金融的客服，您的额度已经更新了，方便的时候可以在App里查看。",
    "王女士您好，您的借款申请已经提交，审核结果会以短信通知您，请留意。",
    "李先生，本产品不保本，投资有风险，请您根据自身情况谨慎选择。",
    "请确保本人操作，不要把验证码告诉任何人，谨防诈骗。",
    "您好，借款的年化利率以合同为准，具体利率在借款页面会展示。",
    "如果按时还款，不会产生逾期记录；逾期的话会影响您的征信，请您按时还款。",
    "逾期记录会按规定报送征信，我们无法删除，建议您尽快还清欠款。",
    "我们没有内部渠道，所有申请都要经过系统审核，请不要相信所谓的中介。",
    "您好，您的红包过期了的话可以在活动页面重新领取。",
    "审批结果以实际审核为准，我这边没办法向您保证一定通过。",
    "这笔借款您可以选择分12期还款，每期还款金额在App里可以看到。",
    "您好，本次来电是提醒您本期账单将在本月15日到期，请您按时还款。",
    "如果您对账单有疑问，可以拨打我们的客服热线，我们会为您核实。",
    "根据您的还款情况，系统可能会给您调整额度，具体以App显示为准。",
    "您的免息券还有3天到期，用券借款可以免去30天的利息。",
    "张先生，您本月的还款已经到账了，感谢您的支持，祝您生活愉快。",
    "您好，提前还款不收取违约金，利息按实际借款天数计算。",
    "借款到账时间一般在审核通过后几分钟到几小时，具体以银行处理为准。",
    "风险提示：借款前请充分了解产品条款，理性借贷，按需借款。",
    "如果您暂时有困难，可以申请延期还款，我们会根据政策为您评估。",
    "我们会依法合规地提醒您还款，如有争议也可以通过法律途径解决。",
    "您好，您的资料已经审核完毕，还需要补充一张身份证背面照片。",
    "请您不要通过任何第三方代办借款，以免造成个人信息泄露。",
    "您好，我们的产品只面向年满18周岁的客户，需要本人实名认证。",
    "这个问题我帮您记录下来了，会有专员在24小时内联系您。",
    "您可以在App的我的借款页面查看每一期的还款计划。",
    "感谢您的耐心等待，您反映的问题我们已经处理好了。",
    "借款用途不能用于购房、炒股等，请您合理使用资金。",
    "您的银行卡已经绑定成功，下次还款会自动从这张卡扣款。",
    "不好意思，刚才的信息可能不准确，稍后由专员和您确认，感谢您的耐心。",
    "您好，您的还款日是每月8号，逾期会产生罚息，请您注意。",
    "我们不会要求您提前支付任何费用，如有人以此为由收费请立即报警。",
    "您的额度是系统根据综合情况评估的，暂时无法人工调整。",
    "如需注销账户，请先还清所有借款，再在设置里申请注销。",
    "您好，活动期间借款可以享受利率折扣，具体折扣以券面为准。",
    "您好，我们这边核实到您有一笔欠款已经逾期5天，请您今天处理一下。",
    "如果一直不处理，逾期信息会上报征信，可能影响您以后办理贷款。",
    "请您放心，您的个人信息我们会严格保密，不会透露给任何第三方。",
    "您好，这个产品的审批通过率和您的信用情况有关，我没法给您承诺。",
    "您好，您的申请没有通过，可能是资料不完整，您可以补充后再试。",
    "百分之百的把握我给不了您，但您可以先提交申请看看审核结果。",
    "这边看到您已经还了100元，剩余的欠款还需要尽快处理。",
    "收益率不是固定的，过往业绩不代表未来表现。",
    "您的账户很安全，请不要相信声称可以修复征信的陌生电话。",
    "您好，您的借款将在审核通过后发放到您绑定的银行卡。",
    "我们的利率在同类产品中比较有竞争力，具体以页面展示为准。",
    "您好，我们的工作时间是早上9点到晚上9点，其他时间可以留言。",
    "如果您需要发票或结清证明，可以在App里申请，3个工作日内发送。",
    "非常理解您的心情，我这边帮您加急处理。",
    "您好，打扰了，这边是想跟您确认一下您的联系地址是否有变化。",
    "审批是系统自动完成的，我这边不能保证通过，以审核结果为准。",
    "到账时间不一定，不是秒到账的，一般几分钟到几小时。",
    "任何理财都没有零风险的，请您根据自己的情况选择。",
    "请您放心，我们不会告诉你家人，也不会联系你单位。",
    "我们不承诺百分百通过，但您的资料比较完整。",
)


def default_check(extra: Sequence[ExtraList] = ()) -> LexiconCheck:
    """The lexicon check of the default policy's files (optionally with extra plain lists)."""
    cfg = LexiconConfig(files=DEFAULT_FILES, extra=tuple(extra))
    return build_lexicon_check(cfg, PolicyContext(POLICY_DIR))


def _entries(check: LexiconCheck) -> list[LexiconEntry]:
    return check.matcher.entries()


def _interleave(word: str, rng: random.Random, pick: Callable[[], str], every: bool = False) -> str:
    gaps = len(word) - 1
    if gaps <= 0:
        return word
    chosen = set(range(gaps)) if every else set(rng.sample(range(gaps), rng.randint(1, gaps)))
    out = [word[0]]
    for i, ch in enumerate(word[1:]):
        if i in chosen:
            out.append(pick())
        out.append(ch)
    return "".join(out)


def _to_full_width(word: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in word)


_OPENCC: dict[str, object] = {}


def _traditional(word: str, rng: random.Random) -> str:
    import opencc

    name = rng.choice(("s2t", "s2tw", "s2hk", "s2twp"))
    conv = _OPENCC.setdefault(name, opencc.OpenCC(name))
    return str(conv.convert(word))  # type: ignore[attr-defined]


def _repeat(word: str, rng: random.Random) -> str:
    idx = set(rng.sample(range(len(word)), min(len(word), rng.randint(1, 2))))
    return "".join(c * (rng.randint(2, 3) if i in idx else 1) for i, c in enumerate(word))


def _random_case(word: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c for c in word)


def make_variant(word: str, kind: str, rng: random.Random) -> str:
    """One evasion variant of `word` of the given kind."""
    if kind == "spaces":
        return _interleave(word, rng, lambda: rng.choice(SPACES))
    if kind == "symbols":
        return _interleave(word, rng, lambda: "".join(rng.choices(SYMBOLS, k=rng.randint(1, 2))))
    if kind == "full_width":
        return _interleave(_to_full_width(word), rng, lambda: rng.choice(FULL_WIDTH_SYMBOLS))
    if kind == "traditional":
        return _traditional(word, rng)
    if kind == "zero_width":
        return _interleave(
            word, rng, lambda: "".join(rng.choices(ZERO_WIDTH, k=rng.randint(1, 2))), every=True
        )
    if kind == "repeats":
        return _repeat(word, rng)
    if kind == "emoji":
        return _interleave(word, rng, lambda: rng.choice(EMOJI))
    if kind == "wide_junk":
        return _interleave(
            word, rng, lambda: "".join(rng.choices(WIDE_JUNK, k=rng.randint(1, 4))), every=True
        )
    if kind == "mixed":
        w = _random_case(_traditional(word, rng), rng)
        if rng.random() < 0.5:
            w = _to_full_width(w)
        w = _repeat(w, rng) if rng.random() < 0.5 else w
        pools = (SPACES, SYMBOLS, ZERO_WIDTH, EMOJI, FULL_WIDTH_SYMBOLS, COMBINING)
        return _interleave(w, rng, lambda: rng.choice(rng.choice(pools)), every=rng.random() < 0.5)
    raise ValueError(kind)


VARIANT_KINDS = (
    "spaces",
    "symbols",
    "full_width",
    "traditional",
    "zero_width",
    "repeats",
    "emoji",
    "mixed",
    "wide_junk",  # 1-4 characters in every gap from a wider pool (brackets, arrows, combining marks)
)


def _naive(words: Sequence[str]) -> Callable[[str], bool]:
    def hit(text: str) -> bool:
        return any(w in text for w in words)

    return hit


def _blocks(check: LexiconCheck, min_tier: int = 2) -> Callable[[str], bool]:
    def hit(text: str) -> bool:
        return any((h.entry.tier or 0) >= min_tier for h in check.matcher.find(text))

    return hit


def evasion_recall(check: LexiconCheck, per_kind: int, seed: int = 20261124) -> None:
    rng = random.Random(seed)
    denied = [e for e in _entries(check) if (e.tier or 0) >= 2]
    naive = _naive([e.word for e in denied])
    print(f"\n## Evasion recall: {len(denied)} tier>=2 entries x {per_kind} variants per kind")
    print(f"{'kind':<12} {'n':>6} {'lexicon':>9} {'exact span':>11} {'naive substring':>16}")
    total = found_all = naive_all = 0
    misses: list[str] = []
    for kind in VARIANT_KINDS:
        n = found = exact = naive_found = 0
        for e in denied:
            for _ in range(per_kind):
                v = make_variant(e.word, kind, rng)
                carrier = rng.choice(CARRIERS)
                text = carrier.format(v)
                lo = carrier.index("{}")
                hits = [h for h in check.matcher.find(text) if (h.entry.tier or 0) >= 2]
                n += 1
                if any(h.start < lo + len(v) and lo < h.end for h in hits):
                    found += 1
                    exact += any(h.start == lo and h.end == lo + len(v) for h in hits)
                elif len(misses) < 12:
                    misses.append(f"{kind}: {e.word!r} -> {v!r}")
                naive_found += naive(text)
        total += n
        found_all += found
        naive_all += naive_found
        print(f"{kind:<12} {n:>6} {found / n:>9.2%} {exact / n:>11.2%} {naive_found / n:>16.2%}")
    print(f"{'all':<12} {total:>6} {found_all / total:>9.2%} {'':>11} {naive_all / total:>16.2%}")
    _traditional_sentences(check, denied, naive)
    for m in misses:
        print("  miss:", m)


def _traditional_sentences(
    check: LexiconCheck, denied: Sequence[LexiconEntry], naive: Callable[[str], bool]
) -> None:
    """OpenCC applied to the whole carrier sentence (phrase-level conversion in context)."""
    import opencc

    n = found = naive_found = 0
    for name in ("s2t", "s2tw", "s2hk", "s2twp"):
        conv = opencc.OpenCC(name)
        for e in denied:
            for carrier in CARRIERS:
                text = conv.convert(carrier.format(e.word))
                n += 1
                found += any((h.entry.tier or 0) >= 2 for h in check.matcher.find(text))
                naive_found += naive(text)
    print(
        f"{'trad (whole sentence, s2t/s2tw/s2hk/s2twp)':<44} {n:>6} {found / n:>9.2%} {naive_found / n:>16.2%}"
    )


def afqmc_sentences() -> list[str]:
    out: list[str] = []
    for name in ("dev.csv", "train.csv"):
        with (AFQMC / name).open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                out += [row["sentence1"], row["sentence2"]]
    return out


def false_positives(check: LexiconCheck, fwwdn: LexiconCheck | None) -> list[str]:
    print("\n## False positives (share of innocent texts the matcher flags)")
    sets: list[tuple[str, Sequence[str]]] = [("clean agent replies", CLEAN_REPLIES)]
    if AFQMC.is_dir():
        sets.append(("AFQMC sentences", afqmc_sentences()))
    else:
        print(f"(AFQMC not found at {AFQMC}: skipped)")
    denied_words = [e.word for e in _entries(check) if (e.tier or 0) >= 2]
    matchers: list[tuple[str, Callable[[str], bool]]] = [
        ("lexicon tier>=2 (blocks)", _blocks(check, 2)),
        ("lexicon any tier (incl. warn)", _blocks(check, 1)),
        ("naive substring tier>=2", _naive(denied_words)),
    ]
    if fwwdn is not None:
        matchers.append(("lexicon + fwwdn as tier 2", _blocks(fwwdn, 2)))
        fwwdn_words = [e.word for e in _entries(fwwdn) if e.category.startswith("fwwdn")]
        matchers.append(("naive substring, fwwdn words only", _naive(fwwdn_words)))
    for label, texts in sets:
        for name, fn in matchers:
            flagged = sum(1 for t in texts if fn(t))
            print(f"{label:<20} {name:<32} {flagged:>6} / {len(texts):<6} = {flagged / len(texts):.3%}")
    examples = [
        t for t in (sets[-1][1]) if fwwdn is not None and _blocks(fwwdn, 2)(t) and not _blocks(check, 2)(t)
    ]
    return examples[:5]


def latency(check: LexiconCheck, quick: bool) -> None:
    import ahocorasick_rs

    record = CustomerRecord(customer_id="bench", name="张飞", gender="male")
    replies = [r[:50] for r in CLEAN_REPLIES]
    rng = random.Random(7)
    denied = [e.word for e in _entries(check) if (e.tier or 0) >= 2]
    dirty = []
    for r in replies:
        v = make_variant(rng.choice(denied), rng.choice(VARIANT_KINDS), rng)
        cut = rng.randint(0, len(r))
        dirty.append((r[:cut] + v + r[cut:])[:50] if len(v) < 40 else v)
    inputs = {t: CheckInput(t, record, split_sentences(t)) for t in replies + dirty}
    repeat = 20 if quick else 200
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\n## Latency per reply (replies cut to <= 50 characters; {repeat} rounds; load average {load:.1f})"
    )
    series = {}
    for label, texts in (
        ("clean", replies),
        ("with an evaded word", dirty),
        ("mixed 50/50", replies + dirty),
    ):
        secs = time_each(lambda t: check.run(inputs[t]), texts, repeat=repeat)
        series[label] = secs
        print(summarize(f"lexicon check, {label}", secs))
    # time_each runs round after round, so secs[k::n] are the rounds of input k. The slowest input's
    # median separates the cost of the work from scheduler noise on a shared machine.
    secs = time_each(lambda t: check.run(inputs[t]), dirty, repeat=repeat)
    medians = [statistics.median(secs[k :: len(dirty)]) * 1e6 for k in range(len(dirty))]
    print(f"{'slowest reply with an evaded word, median of its rounds':<56} {max(medians):8.1f} µs")
    words = [e.word for e in _entries(check)]
    ac = ahocorasick_rs.AhoCorasick(words)
    print(
        summarize(
            "baseline ahocorasick_rs raw scan", time_each(ac.find_matches_as_indexes, replies, repeat=repeat)
        )
    )
    naive = time_each(_naive(words), replies, repeat=repeat)
    print(summarize("baseline naive substring loop", naive))
    for label in ("clean", "with an evaded word"):
        latency_headline("lexicon", f"lexicon check, {label}", series[label], baseline="naive substring loop",
                         base_seconds=naive, target="p99 ≤ 50 µs", limit=50)
    try:
        import ahocorasick
    except ImportError:
        print("pyahocorasick not installed: skipped")
        return
    for n in (len(words), 20000):
        automaton = ahocorasick.Automaton()
        pool = words if n == len(words) else _synthetic_words(n)
        for i, w in enumerate(pool):
            automaton.add_word(w, i)
        automaton.make_automaton()
        big = ahocorasick_rs.AhoCorasick(pool)
        scan = _py_scan(automaton)
        print(summarize(f"pyahocorasick scan, {n} words", time_each(scan, replies, repeat=repeat)))
        print(
            summarize(
                f"ahocorasick_rs scan, {n} words",
                time_each(big.find_matches_as_indexes, replies, repeat=repeat),
            )
        )


def _py_scan(automaton: Any) -> Callable[[str], object]:
    def scan(text: str) -> object:
        return list(automaton.iter(text))

    return scan


def _synthetic_words(n: int) -> list[str]:
    rng = random.Random(3)
    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    return list({"".join(rng.choices(chars, k=rng.randint(2, 5))) for _ in range(n)})[:n]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer variants and rounds")
    parser.add_argument("--per-kind", type=int, default=None, help="variants per entry and kind")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    check = default_check()
    print(f"built default lexicon check in {time.perf_counter() - t0:.2f} s ({len(check.matcher)} keys)")
    fwwdn = None
    if FWWDN.is_dir():
        extras = [
            ExtraList(file=str(p), tier=2, category=f"fwwdn {p.stem}") for p in sorted(FWWDN.glob("*.txt"))
        ]
        fwwdn = default_check(extras)
    evasion_recall(check, args.per_kind or (3 if args.quick else 20))
    examples = false_positives(check, fwwdn)
    if examples:
        print("  AFQMC questions fwwdn would block, e.g.:", " | ".join(examples))
    latency(check, args.quick)


if __name__ == "__main__":
    main()
