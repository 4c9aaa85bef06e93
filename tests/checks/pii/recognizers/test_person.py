from __future__ import annotations

import csv
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.bench_pii import _trim_gold
from bench.common import SHARED_DATA
from guard.checks.base import CheckInput
from guard.checks.pii import PiiCheck, PiiConfig
from guard.checks.pii.analyzer import PiiAnalyzer
from guard.checks.pii.recognizers import person
from guard.text.sentences import split_sentences
from guard.types import CustomerRecord
from tests.checks.pii.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("您的朋友王小明的电话", ["王小明"]),
        ("联系人李建国", ["李建国"]),
        ("经理刘德华会联系您", ["刘德华"]),
        ("欧阳修远表示同意", ["欧阳修远"]),
        ("记者张丽报道", ["张丽"]),
        ("您的担保人赵建国已经还款", ["赵建国"]),  # 建国 is also a word; a common given name
        ("您的配偶周杰同意了吗", ["周杰"]),
        ("收款人：孙丽娟", ["孙丽娟"]),  # a form field
        ("客服专员李娜为您服务", ["李娜"]),
        # No title or verb around: the name-likeness of the characters decides (statistical path).
        ("这笔借款由钱文杰担保", ["钱文杰"]),
        ("宋丽娟：我觉得这个利率可以接受。", ["宋丽娟"]),  # a speaker label
        # Names listed beside a name need fewer points; so do transliterated ones.
        ("这次展览有吴秀梅、陈志远和林晓峰的作品。", ["吴秀梅", "陈志远", "林晓峰"]),
        ("主帅穆里尼奥、中场兰帕德、特里和鲁尼都来了。", ["兰帕德", "特里"]),
        # Two names in a byline: the second surname is not the first name's last character.
        ("本报讯（记者周敏张建华）有媒体报道称", ["周敏", "张建华"]),
        ("（记者王刚李静）", ["王刚", "李静"]),
    ],
)
def test_names_found(analyzer: PiiAnalyzer, text: str, expected: list[str]) -> None:
    assert found(analyzer, text, "CN_PERSON") == expected


@pytest.mark.parametrize(
    "text",
    [
        "张先生您好",  # surname + honorific: the facts check's business
        "王女士，您的额度已到账",
        "张总您好",
        "王国的高兴方法",  # dictionary words starting with surname characters
        "马拉加也是本赛季的黑马",  # transliterated place name
        "您的额度是4000元",
        "主持人：谢谢李总",  # an interview, not a form field
        "王主任向记者透露",  # surname character + a word
        "支付宝还花呗可以自动吗",  # finance brands with a surname character (支, 余)
        "余额宝，金条，白条。",
        "孙丽孙女士您好",  # surname + honorific, the surname repeated
        "欧阳先生您好，高先生、金女士、方经理都在。",
        "电影《梅兰芳》今天上映。",  # inside a title
        "我们去参观了武侯祠。",  # a place named after someone
        "王涛诉称，下午他到了",  # 诉称 is a word: no name 王涛诉
        "您的额度是壹拾贰万陆仟柒佰元。",  # 陆 and 伍 are surnames; capital numerals are amounts
        "共计伍佰元，陆万柒仟元也可以。",
        # Innocent replies of a lender's agent, with surname characters everywhere.
        "您的额度已经提升到五万元，周末也可以申请。",
        "您好，我是客服小王，工号1234。",
        "请问马上金融的客服电话是多少。",
        "黄金价格上涨，高利率产品需谨慎。",
        "朋友介绍的，林总说可以找你们。",
        "您尾号1234的卡，万一逾期会影响征信。",
        "万一您资金周转困难，可以申请延期还款，我们的专员会与您联系。",
        "温馨提示：您的免息券即将到期，请尽快使用。",
        "安心借款，轻松还款，您的额度随借随还。",
        "方便的话，您可以在APP首页查看您的额度和利率。",
        "成功申请后，款项将在两小时内到账。",
        "周一到周五的工作时间，客服都可以为您服务。",
        "何时还款都可以，提前还款不收违约金。",
        "于是我们为您申请了临时额度。",
        "向您致歉，给您带来不便，我们会尽快处理。",
        "关于您咨询的问题，我们已经记录并转交相关部门。",
        "还款日前请保持银行卡余额充足，逾期会影响个人征信记录。",
    ],
)
def test_not_names(analyzer: PiiAnalyzer, text: str) -> None:
    assert found(analyzer, text, "CN_PERSON") == []


# The customer (陈志远) named in every way a reply may name them: never pii.person. Near misses
# (one character off, same pinyin) and surname + honorific are the facts check's business.
_CUSTOMER = CustomerRecord(customer_id="c1", name="陈志远", gender="male")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("陈志远，您的额度已到账。", []),
        ("您好陈志远，我是客服。", []),
        ("您的配偶陈志远已经签字。", []),
        ("陈志源，您的额度已到账。", []),  # one character off
        ("尘志远您好", []),  # same pinyin
        ("陈先生您好，陈总让我联系您。", []),
        ("陈志远、林晓峰都已还款。", ["林晓峰"]),  # the other person is still masked
    ],
)
def test_customer_name_never_flagged(reply: str, expected: list[str]) -> None:
    check = PiiCheck(PiiConfig(entities=("person",)))
    findings = check.run(CheckInput(reply, _CUSTOMER, split_sentences(reply)))
    assert [reply[f.start : f.end] for f in findings] == expected


_CLUENER_DEV = SHARED_DATA / "cluener" / "dev.jsonl"
_AFQMC_DEV = SHARED_DATA / "afqmc" / "dev.csv"


@pytest.mark.skipif(not _CLUENER_DEV.exists(), reason="shared CLUENER data not present")
def test_cluener_dev_precision_and_recall_floor(analyzer: PiiAnalyzer) -> None:
    """Guards against regressions (measured: precision 93.1%, recall 37.6%; see docs/benchmarks.md)."""
    tp = fp = fn = 0
    with _CLUENER_DEV.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            text = row["text"]
            gold = {
                _trim_gold(text, s, e + 1)
                for spans in row["label"].get("name", {}).values()
                for s, e in spans
            }
            hits = {
                (s.start, s.end) for s in analyzer.analyze(text) if s.entity == "CN_PERSON" and s.score >= 0.5
            }
            tp += len(hits & gold)
            fp += len(hits - gold)
            fn += len(gold - hits)
    assert tp / (tp + fp) >= 0.90
    assert tp / (tp + fn) >= 0.35


@pytest.mark.skipif(not _AFQMC_DEV.exists(), reason="shared AFQMC data not present")
def test_afqmc_questions_have_no_names(analyzer: PiiAnalyzer) -> None:
    with _AFQMC_DEV.open(encoding="utf-8", newline="") as fh:
        texts = sorted({t for row in list(csv.reader(fh))[1:] for t in row[:2]})
    flagged = [t for t in texts if found(analyzer, t, "CN_PERSON")]
    assert len(texts) > 8000
    assert flagged == []


_AFFIX_CHARS = st.sampled_from("王先生女士经理记者说表示和与、：")


@given(
    words=st.lists(st.text(_AFFIX_CHARS, min_size=1, max_size=4), min_size=1, max_size=12),
    text=st.text(_AFFIX_CHARS, max_size=10),
    pos=st.integers(0, 12),
)
def test_affix_lookups_are_str_endswith_and_startswith(words: list[str], text: str, pos: int) -> None:
    from guard.checks.pii.recognizers.person import _Affixes

    affixes = _Affixes(tuple(words))
    assert affixes.ends(text) == text.endswith(tuple(words))
    assert affixes.starts(text, pos) == text.startswith(tuple(words), pos)


# The scanning patterns are written to begin with one character class (re's prefix scan); they
# must find what the plain forms find, from every start position.
_PLAIN_CANDIDATE = re.compile(
    "(?:" + "|".join(person.COMPOUND_SURNAMES) + "|[" + "".join(sorted(person.SURNAMES)) + "])[\u4e00-\u9fff]{1,2}"
)
_F = person._FOREIGN_CHARS
_PLAIN_FOREIGN = re.compile(f"[{_F}]{{1,6}}(?:[·•][{_F}]{{1,8}})+|[{_F}]{{2,6}}")
# Surnames (single and the characters of compound ones), transliteration characters, the dots,
# and characters that are none of these.
_SCAN_ALPHABET = "".join(sorted(set("".join(person.COMPOUND_SURNAMES)) | set("王李张欧司上申太") | set(_F[:40]))) + "·•的了，a1 "


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int] | None]:
    return [(m.span() if (m := pattern.search(text, pos)) else None) for pos in range(len(text) + 1)]


def _candidates(text: str) -> list[tuple[int, int]]:
    """What the recognizer reads from `_CANDIDATES`: (start, end) of the candidate at each start."""
    return [(m.start(), m.end(1)) for m in person._CANDIDATES.finditer(text)]


def _plain_candidates(text: str) -> list[tuple[int, int]]:
    """The plain form matched at every start position."""
    return [m.span() for pos in range(len(text)) if (m := _PLAIN_CANDIDATE.match(text, pos))]


@given(st.text(alphabet=_SCAN_ALPHABET, max_size=30))
def test_scanning_patterns_find_what_the_plain_forms_find(text: str) -> None:
    assert _candidates(text) == _plain_candidates(text)
    assert _spans(person._FOREIGN, text) == _spans(_PLAIN_FOREIGN, text)


def test_candidates_overlap_and_keep_compound_surnames() -> None:
    # Overlapping candidates are all listed; a compound surname without a given name after it
    # falls back to its first character as a single surname (欧 + 阳).
    assert _candidates("任何问题") == [(0, 3), (1, 4)]
    assert _candidates("欧阳娜娜说") == [(0, 4), (1, 4)]
    assert _candidates("欧阳。") == [(0, 2)]


def test_scanning_patterns_on_the_shared_corpus() -> None:
    path = SHARED_DATA / "cluener" / "dev.jsonl"
    if not path.exists():
        pytest.skip(f"{path} absent")
    texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()[:400]]
    for text in texts:
        assert _candidates(text) == _plain_candidates(text)
        assert _spans(person._FOREIGN, text) == _spans(_PLAIN_FOREIGN, text)
