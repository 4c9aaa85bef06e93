"""Chinese numbers and amounts: find them in a reply, parse them exactly, render them back.

Every written form a reply may use for the same value parses to the same `Decimal`:
4000元, 4,000元, 4000.00元, ￥4000, 4000块, 四千元, 肆仟元, 4千元, 0.4万元, ４０００元 (full-width),
digits grouped by thousands with a comma, a space of any width (5 000, 5\u00a0000, 5\u202f000,
5\u2009000) or an apostrophe (5'000) — 1 to 3 digits, then groups of exactly 3 —, the forms mixing
digits with 千/万/亿 (1.55万, 20万, 4万5千, 1万5) or with K = 千 and W = 万 as chat writes them (5K,
5k, 1.5W, 2w; not inside a name such as GPT-4K or A5K, nor before another letter or digit: 5KB,
5kg, 5k5), Chinese numerals (四千五百, 两万, 一万零五百, 四千五 = 4500) and financial capitals
(肆仟, 伍万, 贰拾万). Dots group thousands only when there are two or more groups (5.000.000).

`scan_numbers(text)` returns every number with its span (code points of the original text), its
written `NumberStyle`, its currency marks and the character after it; `format_number(value, style)`
renders a value in a given style, so a fix keeps the reply's style: 五千元 → 四千元, 5000元 → 4000元,
0.5万 → 0.4万, 5 000元 → 4 000元, 5K → 4K. Malformed numerals (千万, 万一, 百分之) are simply not numbers.

A number another digit touches — directly, or across one separator (5-000, 4000，5000, 5 0001) —
is `glued`: where it ends is ambiguous, so a fix must not splice a new value into its span
(5 000 read as 000 and "fixed" to 5 4000); the fact checks fall back to their `fallback` action.

Some numbers are read but marked `doubt`, because what they state is not one certain amount in
yuan: "dots" (4.000, 10.000, 4.500: one dot then exactly three digits is 4 yuan to a Chinese
reader and 4000 to a European one), "approx" (5000多元, 4000余元, 1000来块, 4000+, 30多万, 五六千;
"or more": 4000元以上, 五千出头, 3000开外, 4000元+)
and "foreign" (4000美元, $4000, USD 4000, 4000日元). Two amounts joined by a range connector
(- – — ~ ～ 至 到: 5000-8000元, 5k~8k, 五千到八千) are a `NumberRange`, each end pointing to it as
`pair`; a bare first end takes the second's unit (3-5万 is 3万 to 5万). None of these is spliced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation, localcontext
from typing import Literal

__all__ = [
    "Doubt",
    "NumberMatch",
    "NumberRange",
    "NumberStyle",
    "fold_width",
    "format_number",
    "parse_number",
    "plain_number",
    "scan_numbers",
]

# Full-width digits, letters, '.', '￥' folded 1:1 to ASCII, so offsets never move.
_FOLD = {cp: cp - 0xFEE0 for cp in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))}
_FOLD[0xFF0E] = ord(".")
_FOLD[0xFFE5] = ord("¥")

_LOWER_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_CAPITAL_DIGITS = {"壹": 1, "贰": 2, "貳": 2, "叁": 3, "參": 3, "肆": 4, "伍": 5, "陆": 6, "陸": 6, "柒": 7, "捌": 8, "玖": 9}
_CN_DIGITS = {**_LOWER_DIGITS, **_CAPITAL_DIGITS}
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_CAPITAL_CHARS = frozenset("壹贰貳叁參肆伍陆陸柒捌玖拾佰仟")
_CN_CHARS = "".join(_CN_DIGITS) + "".join(_SMALL_UNITS) + "".join(_BIG_UNITS)
_CN_DIGIT_CHARS = "".join(_CN_DIGITS)

# Thousands separators other than the comma: spaces of every width (plain, no-break, figure, thin,
# narrow no-break, ideographic) and apostrophes (5'000, Swiss style). Unlike a comma, which has
# always run on into following digits (4,0000 reads 40000), a number grouped with these must end
# after a group of exactly 3 digits: 138 1234 5678 stays three numbers.
_SPACE_SEPS = " \u00a0\u2007\u2009\u202f\u3000'\u2019"
GROUP_SEPS = ",，" + _SPACE_SEPS
# (`\d{1,3}+` is possessive: a run of more digits is no grouped number, and is not tried as one
# three times over.)
# Dots group thousands (5.000.000) only with two or more groups, and never with a decimal part:
# a single 4.000 is read as a decimal (and marked `doubt`, see `_DOT_DOUBT`).
_ARABIC = (
    rf"\d{{1,3}}+(?:(?:[,，]\d{{3}})+|(?:[{_SPACE_SEPS}]\d{{3}})+(?!\d))(?:\.\d+)?"
    r"|\d{1,3}+(?:\.\d{3}){2,}+(?![\d.])"
    r"|\d+(?:\.\d+)?"
)
# K = 千 and W = 万 right after digits (5K, 1.5W), as Chinese finance chat writes them; never
# before another ASCII letter or digit (5KB, 5kg, 5k5). A number that starts inside a name
# (GPT-4K, A5K) loses its K again in `scan_numbers`.
_LATIN_UNITS = {"K": 1000, "k": 1000, "W": 10**4, "w": 10**4}
_LATIN_UNIT = r"(?:(?<=\d)[KkWw](?![A-Za-z0-9]))?"
_UNIT_VALUES: dict[str, int] = {**_SMALL_UNITS, **_BIG_UNITS, **_LATIN_UNITS}
_MONEY_UNITS = frozenset("千仟百佰" + "".join(_BIG_UNITS) + "".join(_LATIN_UNITS))
_CURRENCY_BEFORE = r"(?:[¥]|RMB|rmb|人民币)"
_CURRENCY_AFTER = r"(?:块钱|元|块|圆|人民币|RMB|rmb)"
_NUMBER = re.compile(
    rf"(?P<pre>{_CURRENCY_BEFORE}\s?)?"
    rf"(?<![\d.,])(?P<num>(?:{_ARABIC}|[{_CN_CHARS}])(?:{_ARABIC}|[{_CN_CHARS}]|点(?=[{_CN_DIGIT_CHARS}]))*{_LATIN_UNIT})"
    rf"(?P<post>\s?{_CURRENCY_AFTER})?"
)
_MAX_CORE = 40  # longer runs are not amounts anyone says; treated as malformed
_EXACT = Context(prec=80)  # enough digits that no 40-character numeral is ever rounded

Form = Literal["arabic", "scaled", "chinese", "capital"]
# Why a number read is still no certain amount in yuan (see the module doc); "" when it is one.
Doubt = Literal["", "dots", "approx", "foreign"]


@dataclass(frozen=True, slots=True)
class NumberStyle:
    """How a number was written, so a replacement can be written the same way."""

    form: Form = "arabic"
    # thousands separator used (one of `GROUP_SEPS`: "," "，" " " "\u202f" "'" …, or "." for
    # 5.000.000), "" for none
    sep: str = ""
    decimals: int = 0  # decimal places shown (arabic and scaled forms)
    fullwidth: bool = False
    scale: str = ""  # 千 / 万 / 亿 (or K / k / W / w as written) for the scaled form (0.4万, 4K)
    liang: bool = False  # the Chinese form said 两 for a leading 2


@dataclass(frozen=True, slots=True)
class NumberRange:
    """Two amounts joined by a range connector: 5000-8000, 5k~8k, 五千到八千, 3-5万.

    `start`/`end` run from the first number to the end of the second, currency marks included
    (¥5000-¥8000, 5000~8000元); `first`/`second` are their values as read (3-5万: 30000 and 50000). Not `ascending` (8000-5000, 5000到3000), the two are
    no range either, only two amounts that cannot be told apart.
    """

    start: int
    end: int
    first: Decimal
    second: Decimal

    @property
    def ascending(self) -> bool:
        return self.first < self.second


@dataclass(slots=True)
class NumberMatch:
    """One number in a text: value, spans and written style.

    `start`/`end` cover the number itself; `full_start`/`full_end` include currency marks.
    `money` says the number reads as an amount of money (a currency mark, a 千/万/亿 multiplier,
    or 3 to 8 bare Arabic digits not followed by a non-money unit such as 天, 岁, 折, % and not
    glued to other digits by - : /).
    `glued` says another digit touches `[start, end)`, directly or across one separator
    (`DIGIT_GLUE`): the number's extent is ambiguous and no fix may splice a value into it.
    `doubt` says why the number is no certain amount in yuan ("dots", "approx", "foreign"; the
    full span then covers the marks that say so: 5000多元, 4000美元); `pair` is the range this
    number is one end of. No fix may splice a value into a number in doubt or in a range either.
    """

    value: Decimal
    start: int
    end: int
    full_start: int
    full_end: int
    style: NumberStyle
    currency: bool
    money: bool
    after: str  # the character right after the number ("" at the end)
    glued: bool = False
    doubt: Doubt = ""
    pair: NumberRange | None = None


def fold_width(text: str) -> str:
    """Full-width digits, Latin letters, '．' and '￥' folded to ASCII; same length as `text`."""
    return text.translate(_FOLD)


class _Malformed(ValueError):
    pass


_ARABIC_CHARS = frozenset("." + GROUP_SEPS)
_GROUP_SEP = re.compile(f"[{GROUP_SEPS}]")
_DROP_SEPS = {ord(c): None for c in GROUP_SEPS}


def _read_arabic(core: str, i: int) -> tuple[Decimal, int]:
    j = i
    while j < len(core) and (core[j].isdigit() or core[j] in _ARABIC_CHARS):
        j += 1
    raw = core[i:j]
    if not raw.replace(".", "").isdigit():  # grouped: 4,000 / 5 000
        raw = raw.translate(_DROP_SEPS)
    elif raw.count(".") > 1:  # grouped with dots: 5.000.000
        raw = raw.replace(".", "")
    try:
        return Decimal(raw), j
    except InvalidOperation:
        raise _Malformed(raw) from None


def _tokens(core: str) -> list[tuple[str, Decimal]]:
    """('n', value) numbers, ('z', 0) an explicit 零, ('s', 10/100/1000), ('b', 10**4/10**8),
    ('f', 0.xx) a fraction after a unit (四千点五)."""
    out: list[tuple[str, Decimal]] = []
    i = 0
    while i < len(core):
        ch = core[i]
        if ch.isdigit() and ch.isascii():
            value, i = _read_arabic(core, i)
            out.append(("n", value))
            continue
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
            i += 1
            if i + 1 < len(core) and core[i] == "点" and core[i + 1] in _CN_DIGITS:
                j = i + 1
                frac = []
                while j < len(core) and core[j] in _CN_DIGITS:
                    frac.append(str(_CN_DIGITS[core[j]]))
                    j += 1
                out.append(("n", Decimal(f"{digit}.{''.join(frac)}")))
                i = j
            elif digit == 0 and ch in "零〇":
                out.append(("z", Decimal(0)))
            else:
                out.append(("n", Decimal(digit)))
            continue
        if ch == "点" and i + 1 < len(core) and core[i + 1] in _CN_DIGITS:
            j = i + 1
            while j < len(core) and core[j] in _CN_DIGITS:
                j += 1
            out.append(("f", Decimal("0." + "".join(str(_CN_DIGITS[c]) for c in core[i + 1 : j]))))
            i = j
            continue
        if ch in _SMALL_UNITS:
            out.append(("s", Decimal(_SMALL_UNITS[ch])))
        elif ch in _BIG_UNITS:
            out.append(("b", Decimal(_BIG_UNITS[ch])))
        elif ch in _LATIN_UNITS:  # K = 千 (a small unit), W = 万 (a big one)
            out.append(("s" if ch in "Kk" else "b", Decimal(_LATIN_UNITS[ch])))
        else:
            raise _Malformed(ch)
        i += 1
    return out


def _evaluate(tokens: list[tuple[str, Decimal]]) -> Decimal:
    total = Decimal(0)  # everything already multiplied by a big unit
    section = Decimal(0)  # the part below the current big unit
    num: Decimal | None = None
    zero = False  # an explicit 零 since the last unit
    last_small: Decimal | None = None
    last_unit: Decimal | None = None
    last_big: Decimal | None = None
    seen_any = False
    fraction = Decimal(0)
    for idx, (kind, value) in enumerate(tokens):
        if kind == "f":
            if idx != len(tokens) - 1 or num is not None or not seen_any:
                raise _Malformed("fraction not at the end")
            fraction = value
            continue
        if kind == "z":
            if num is not None:
                raise _Malformed("digit before 零")
            zero = True
            seen_any = True
            continue
        if kind == "n":
            if num is not None:
                raise _Malformed("two numbers in a row")
            num = value
            seen_any = True
            continue
        if kind == "s":
            if num is None:
                if value != 10 or seen_any:
                    raise _Malformed("unit without a number")
                num = Decimal(1)  # 十 / 十五 / 十万 at the start
            if last_small is not None and value >= last_small:
                raise _Malformed("small units out of order")
            section += num * value
            last_small = last_unit = value
            num, zero, seen_any = None, False, True
            continue
        # a big unit: 万 / 亿
        part = section + (num if num is not None else Decimal(0))
        if num is None and section == 0:
            if value == 10**8 and last_big == 10**4 and total:  # 万亿
                total *= value
                last_big = last_unit = value
                continue
            raise _Malformed("big unit without a number")
        if last_big is not None and value > last_big:
            total = (total + part) * value
        else:
            if last_big is not None and value == last_big:
                raise _Malformed("repeated big unit")
            total += part * value
        section, num, zero, last_small = Decimal(0), None, False, None
        last_big = last_unit = value
        seen_any = True
    if num is not None:
        if last_unit is not None and not zero and num == num.to_integral_value() and 0 < num < 10:
            num *= last_unit / 10  # colloquial: 四千五 = 4500, 1万5 = 15000
        section += num
    if not seen_any:
        raise _Malformed("empty")
    return total + section + fraction


def _style(core: str) -> NumberStyle:
    fullwidth = any("\uff10" <= c <= "\uff19" for c in core)
    folded = fold_width(core)
    has_arabic = any(c.isdigit() and c.isascii() for c in folded)
    if has_arabic:
        units = [c for c in folded if c in _UNIT_VALUES]
        if units:
            biggest = max(units, key=lambda c: _UNIT_VALUES[c])
            scale = {"萬": "万", "億": "亿", "仟": "千", "佰": "百", "拾": "十"}.get(biggest, biggest)
            return NumberStyle(form="scaled", fullwidth=fullwidth, scale=scale)
        if folded.count(".") > 1:  # 5.000.000
            return NumberStyle(form="arabic", sep=".", fullwidth=fullwidth)
        found = _GROUP_SEP.search(folded)
        sep = found.group() if found else ""
        frac = folded.split(".", 1)[1] if "." in folded else ""
        decimals = len(frac) if frac and not frac.strip("0") else 0  # 4000.00 is a style; 4000.5 a value
        return NumberStyle(form="arabic", sep=sep, decimals=decimals, fullwidth=fullwidth)
    if any(c in _CAPITAL_CHARS for c in core):
        return NumberStyle(form="capital")
    return NumberStyle(form="chinese", liang="两" in core or "兩" in core)


def parse_number(text: str) -> Decimal | None:
    """The value of a whole string that is one number (currency marks allowed), else None."""
    folded = fold_width(text.strip())
    m = _NUMBER.fullmatch(folded)
    if m is None:
        return None
    if len(m.group("num")) > _MAX_CORE:
        return None
    try:
        with localcontext(_EXACT):
            return _evaluate(_tokens(m.group("num")))
    except (_Malformed, InvalidOperation):
        return None


_NOT_MONEY_AFTER = frozenset("天日号月年个期次岁周折%％倍人位笔分秒时点条家张项种成小名级档步轮晚楼层:")
_JOINERS = frozenset("-—－:：/")


_CORE = re.compile(
    rf"(?<![\d.,])(?:{_ARABIC}|[{_CN_CHARS}])(?:{_ARABIC}|[{_CN_CHARS}]|点(?=[{_CN_DIGIT_CHARS}]))*{_LATIN_UNIT}"
)
_CORE_START = re.compile(rf"[\d{_CN_CHARS}]")  # what every `_CORE` match starts with
_NEEDS_FOLD = re.compile("[\uff0e\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uffe5]")
_PREFIX = re.compile(r"(?:¥|RMB|rmb|人民币) ?$")
_SUFFIX = re.compile(r" ?(?:块钱|元|块|圆|人民币|RMB|rmb)")
_PLAIN = NumberStyle()
_PLAIN_FW = NumberStyle(fullwidth=True)


def _joined(text: str, start: int, end: int) -> bool:
    """A bare number glued to other digits by - : / (400-123-4567, 9:00, 12/31) is no amount."""
    if end + 1 < len(text) and text[end] in _JOINERS and text[end + 1].isdigit():
        return True
    return start >= 2 and text[start - 1] in _JOINERS and text[start - 2].isdigit()


# What may stand between two digits of one written number, or join a number to the next: the
# grouping separators, the decimal point, dashes, slashes, colons, middle dots.
DIGIT_GLUE = frozenset(GROUP_SEPS + ".-‐‑‒–—―−－/／:：·・")
_ASCII_DIGITS = frozenset("0123456789")
_TOUCHING = DIGIT_GLUE | _ASCII_DIGITS


def _glued(text: str, start: int, end: int) -> bool:
    """Another digit touches [start, end) directly or across one `DIGIT_GLUE` character."""
    if start >= 1:
        ch = text[start - 1]
        if ch in _ASCII_DIGITS or (ch in DIGIT_GLUE and start >= 2 and text[start - 2] in _ASCII_DIGITS):
            return True
    if end < len(text):
        ch = text[end]
        if ch in _ASCII_DIGITS or (ch in DIGIT_GLUE and end + 1 < len(text) and text[end + 1] in _ASCII_DIGITS):
            return True
    return False


def _ascii_letter(ch: str) -> bool:
    return "A" <= ch <= "Z" or "a" <= ch <= "z"


def _in_name(text: str, start: int) -> bool:
    """A number starting right after an ASCII letter (A5K), or after a letter and one of - _ . or a
    space (GPT-4K, iPhone 5K): part of a name or code, so a K or W after it is no unit.
    RMB5K, RMB 5K and 5k-8k are amounts."""
    if start == 0:
        return False
    prev = text[start - 1]
    if _ascii_letter(prev):
        return _PREFIX.search(text, max(0, start - 4), start) is None
    if prev in "-_. " and start >= 2 and _ascii_letter(text[start - 2]):
        if text[start - 2] in _LATIN_UNITS and start >= 3 and text[start - 3] in _ASCII_DIGITS:
            return False  # 5k-8k: the letter is itself a unit after digits
        return _PREFIX.search(text, max(0, start - 4), start) is None
    return False


# One dot then exactly three digits, after 1 to 3 digits that do not start with 0: 4 yuan to a
# Chinese reader, 4000 to a European one (4.000, 10.000, 4.500).
_DOT_DOUBT = re.compile(r"[1-9]\d{0,2}\.\d{3}")

# Approximations right after a number: 多 / 余 / 来 / + ("more than", "about"), then maybe a unit
# that scales the number (30多万) and a currency. Without a unit or currency it must end the
# phrase (5000多。, 4000+的额度): 4000多久, 4000余额 and 借4000来周转 are no approximation.
_APPROX = re.compile(r"[多余来+＋](?P<unit>[十百千万亿拾佰仟萬億])?(?P<cur> ?(?:块钱|元|块|圆|人民币|RMB|rmb))?")
_APPROX_ENDS = frozenset("，,。！？!?；;、…\n\r \t的)）")
# "Or more" after a number or its yuan mark: 4000元以上, 五千出头, 3000开外, 4000元+ (a + after 元
# must end the phrase: 5000元+利息 is a sum).
_MORE_THAN = re.compile(r"以上|出头|开外|[+＋]")
_MORE_FIRST = frozenset("以出开+＋")
# Two adjacent numerals then a unit: 五六千, 两三万, 三五百 (an approximate range, not a number).
_APPROX_PAIR = re.compile(r"([一二两兩三四五六七八九])([二两兩三四五六七八九])([十百千万亿拾佰仟萬億].*)")
# Other currencies than yuan, after or before the number.
_FOREIGN_AFTER = re.compile(
    r" ?(?:美元|美金|美刀|港币|港幣|港元|欧元|歐元|欧(?![式洲美])|日元(?!旦)|日圆|日币|英镑|英鎊|澳元|澳币|加元|加币"
    r"|韩元|韓元|韩币|新台币|台币|新加坡元|新币|卢布|卢比|泰铢|越南盾|印尼盾|林吉特|马币|比索|瑞郎|瑞士法郎|法郎"
    r"|里拉|兰特|比特币|泰币"
    r"|USDT|USD|HKD|EUR|JPY|GBP|AUD|CAD|SGD|CHF|INR|THB|KRW|MYR|TWD|NZD|PHP|VND|IDR|BTC)(?![A-Za-z])"
)
_FOREIGN_BEFORE = re.compile(
    r"(?:US\$|HK\$|S\$|A\$|C\$|NT\$|[$€£₩₹₽₱₫฿₿]|USD|HKD|EUR|JPY|GBP|AUD|CAD|SGD|CHF|INR|THB|KRW|MYR|TWD|NZD"
    r"|PHP|VND|IDR) ?$"
)
_MARK_FIRST = frozenset("多余来+＋ 美港欧歐日英澳加韩韓新台卢泰越印林马比瑞法里兰UHEJGACSITKMNPVB")
_FOREIGN_LAST = frozenset("$€£₩₹₽₱₫฿₿DRYPFBWNH ")

# Range connectors: dashes, tildes, 至, 到 (one, with a space either side at most).
_RANGE_GAP = re.compile("[ \u3000]?(?:——|[-‐‑‒–—―−－~～〜至到])[ \u3000]?")
_GAP_FIRST = frozenset(" \u3000-‐‑‒–—―−－~～〜至到")
_DASHES = frozenset("-‐‑‒–—―−－")
# Alternatives (4、5千, 4或5千): a range only when the first end takes the second's unit.
_ALT_GAP = re.compile("[ \u3000]?(?:、|或者?)[ \u3000]?")
_PAIR_FIRST = _GAP_FIRST | frozenset("、或")


def _approx_pair(core: str) -> Decimal | None:
    """五六千 → 5000 (the lower end), 两三万 → 20000; None for any other malformed numeral."""
    m = _APPROX_PAIR.fullmatch(core)
    if m is None:
        return None
    low, high = _LOWER_DIGITS[m.group(1)], _LOWER_DIGITS[m.group(2)]
    if high != low + 1 and (low, high) != (3, 5):
        return None
    try:
        return _evaluate(_tokens(m.group(1) + m.group(3)))
    except (_Malformed, InvalidOperation):
        return None


def _foreign_before(text: str, start: int) -> int:
    """Where a foreign currency mark before `start` begins ($4000, USD 4000), else -1."""
    m = _FOREIGN_BEFORE.search(text, max(0, start - 4), start)
    return m.start() if m else -1


def _marks_after(text: str, end: int) -> tuple[Doubt, int, int, bool]:
    """(doubt, end of the marks, unit they scale the number by, they say money) right after a
    number with no yuan mark: an approximation (5000多元, 30多万) or a foreign currency (4000美元)."""
    m = _APPROX.match(text, end)
    if m is not None:
        unit, cur = m.group("unit"), m.group("cur")
        stop = m.end()
        if unit or cur or (text[end] != "来" and (stop == len(text) or text[stop] in _APPROX_ENDS)):
            return "approx", stop, _UNIT_VALUES[unit] if unit else 1, bool(unit or cur)
        return "", end, 1, False
    f = _FOREIGN_AFTER.match(text, end)
    if f is not None:
        return "foreign", f.end(), 1, True
    return "", end, 1, False


def scan_numbers(text: str) -> list[NumberMatch]:
    """Every well-formed number in `text` (full-width allowed), left to right."""
    folded = text.translate(_FOLD) if _NEEDS_FOLD.search(text) else text
    out: list[NumberMatch] = []
    # Every number starts with a digit or a Chinese numeral character: the scan starts at the
    # first one (its look-behind still sees what precedes it), and a reply with none is done.
    first = _CORE_START.search(folded)
    if first is None:
        return out
    n = len(folded)
    pairs = False  # some number is followed by what may join it to the next (-, ~, 至, 到, 、 …)
    for m in _CORE.finditer(folded, first.start()):
        start, end = m.span()
        core = m.group()
        if core[-1] in _LATIN_UNITS and _in_name(folded, start):
            end -= 1  # GPT-4K: the number is 4, its K a letter of the name
            core = core[:-1]
        doubt: Doubt = ""
        if core.isdigit() and core.isascii():  # the common case: plain Arabic digits
            value = Decimal(core)
            style = _PLAIN if folded is text or text[start] == core[0] else _PLAIN_FW
        else:
            if len(core) > _MAX_CORE:
                continue
            try:
                if len(core) > 16:
                    with localcontext(_EXACT):
                        value = _evaluate(_tokens(core))
                else:  # at most 16 digits: the default 28-digit context is exact
                    value = _evaluate(_tokens(core))
            except (_Malformed, InvalidOperation):
                approx = _approx_pair(core)
                if approx is None:
                    continue
                value, doubt = approx, "approx"
            style = _style(text[start:end])
            if style.sep == "" and "." in core and style.form == "arabic" and _DOT_DOUBT.fullmatch(core):
                doubt = "dots"
        pre = _PREFIX.search(folded, max(0, start - 4), start) if start else None
        full_start = pre.start() if pre else start
        post = _SUFFIX.match(folded, end)
        full_end = post.end() if post else end
        currency = full_start != start or full_end != end
        says_money = False
        # (a first look at the character either side: most numbers have none of these marks)
        if not currency and end < n and folded[end] in _MARK_FIRST:
            mark, full_end, scale, says_money = _marks_after(folded, end)
            if mark:
                doubt = doubt or mark
                if scale != 1:
                    with localcontext(_EXACT):
                        value *= scale
        if not doubt and full_end < n and folded[full_end] in _MORE_FIRST:
            more = _MORE_THAN.match(folded, full_end)
            if more is not None and (
                more.group() not in "+＋" or more.end() == n or folded[more.end()] in _APPROX_ENDS
            ):
                doubt, full_end = "approx", more.end()
        if not currency and not says_money and start > 0 and folded[start - 1] in _FOREIGN_LAST:
            foreign = _foreign_before(folded, start)
            if foreign >= 0:
                doubt, full_start, says_money = "foreign", foreign, True
        after = folded[full_end] if full_end < n else ""
        if currency or says_money:
            money = True
        elif after in _NOT_MONEY_AFTER or _joined(folded, start, full_end):
            money = False
        elif style.form == "arabic":
            # A bare amount has 3 to 8 digits: 3、6、12 are counts, long runs are ids or phones.
            money = style.sep != "" or doubt != "" or 3 <= len(core.split(".")[0]) < 9
        else:
            money = any(c in _MONEY_UNITS for c in core)
        # Most numbers stand between letters or 元: look closer only when a digit or a separator
        # touches them.
        glued = (
            (start > 0 and folded[start - 1] in _TOUCHING) or (end < n and folded[end] in _TOUCHING)
        ) and _glued(folded, start, end)
        out.append(NumberMatch(value, start, end, full_start, full_end, style, currency, money, after, glued, doubt))
        pairs = pairs or after in _PAIR_FIRST
    if pairs and len(out) > 1:
        _join_ranges(folded, out)
    return out


def _range_gap(text: str, a: NumberMatch, b: NumberMatch) -> str | None:
    """The range connector between `a` and `b` (5000-8000, 五千到八千), else None."""
    if a.full_end >= len(text) or text[a.full_end] not in _GAP_FIRST:
        return None
    gap = text[a.full_end : b.full_start]
    return gap if len(gap) <= 4 and _RANGE_GAP.fullmatch(gap) else None


def _linked(text: str, a: NumberMatch, b: NumberMatch) -> bool:
    """`b` follows `a` across a range connector or one `DIGIT_GLUE` character (400-123-4567)."""
    gap = text[a.full_end : b.full_start]
    return (len(gap) == 1 and gap in DIGIT_GLUE) or _range_gap(text, a, b) is not None


def _join_ranges(text: str, out: list[NumberMatch]) -> None:
    """Mark each two amounts joined by a range connector as a `NumberRange`; also 4、5千 and 4或5千,
    where a bare first end takes the second's unit. Not when the second is a count (3-12期,
    18至60岁, 7-30天), an end has a leading 0 (5-000, 010-12345678), or the two are part of a
    chain of three (400-123-4567, 2026-12-31)."""
    last = len(out) - 1
    n = len(text)
    for i in range(last):
        a, b = out[i], out[i + 1]
        if a.full_end >= n or text[a.full_end] not in _PAIR_FIRST:
            continue
        if b.after in _NOT_MONEY_AFTER or _leading_zero(text, a) or _leading_zero(text, b):
            continue
        gap = text[a.full_end : b.full_start]
        scaled = _scaled_first(text, a, b)
        if len(gap) > 4 or (not _RANGE_GAP.fullmatch(gap) and (scaled is None or not _ALT_GAP.fullmatch(gap))):
            continue
        if (i > 0 and _linked(text, out[i - 1], a)) or (i + 1 < last and _linked(text, b, out[i + 2])):
            continue
        _make_range(text, a, b, gap, scaled)


def _leading_zero(text: str, n: NumberMatch) -> bool:
    """000, 0571: digits after a leading 0 are no amount (a broken number, an area code)."""
    return n.end - n.start > 1 and text[n.start] == "0" and text[n.start + 1] != "."


def _biggest_unit(core: str) -> int:
    best = 1
    for c in core:
        v = _UNIT_VALUES.get(c, 1)
        if v > best:
            best = v
    return best


def _scaled_first(text: str, a: NumberMatch, b: NumberMatch) -> Decimal | None:
    """A bare first end read with the second's unit (3-5万: 30000, 三到五千: 3000), or None: no
    unit of 百 or more to take, or it would put the first above the second (500-1万)."""
    scale = _biggest_unit(text[b.start : b.end])
    if scale < 100 or _biggest_unit(text[a.start : a.end]) != 1:
        return None
    with localcontext(_EXACT):
        scaled = a.value * scale
    return scaled if scaled <= b.value else None


def _make_range(text: str, a: NumberMatch, b: NumberMatch, gap: str, scaled: Decimal | None) -> None:
    if scaled is not None:
        a.value = scaled
    core_a, core_b = text[a.start : a.end], text[b.start : b.end]
    units = any(c in _MONEY_UNITS for c in core_a) or any(c in _MONEY_UNITS for c in core_b)
    # Bare numbers joined by a dash are no amount (400-8888), as for one number (400-123-4567).
    dash = any(c in _DASHES for c in gap)
    money = a.currency or b.currency or units or (not dash and (a.money or b.money))
    pair = NumberRange(a.full_start, b.full_end, a.value, b.value)
    a.money = b.money = money
    a.pair = b.pair = pair


def plain_number(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 4000, 0.4, 1.55 (exact at any size)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


_FW_DIGITS = str.maketrans("0123456789.KkWw", "０１２３４５６７８９．ＫｋＷｗ")


def _section(n: int, digits: str, units: str, liang: bool, capital: bool) -> str:
    """n in 1..9999 in Chinese (no leading 零)."""
    out: list[str] = []
    zero_pending = False
    for power, unit in ((1000, units[2]), (100, units[1]), (10, units[0]), (1, "")):
        d = n // power % 10
        if d == 0:
            if out:
                zero_pending = True
            continue
        if zero_pending:
            out.append(digits[0])
            zero_pending = False
        if d == 2 and liang and power in (1000, 100) and not out:
            out.append("两")
        else:
            out.append(digits[d])
        out.append(unit)
    return "".join(out)


def _chinese_integer(n: int, capital: bool, liang: bool, leading: bool = True) -> str:
    digits = "零壹贰叁肆伍陆柒捌玖" if capital else "零一二三四五六七八九"
    units = "拾佰仟" if capital else "十百千"
    for size, unit, zero_below in ((10**8, "亿", 10**7), (10**4, "万", 1000)):
        if n >= size:
            high, low = divmod(n, size)
            head = "两" if liang and high == 2 else _chinese_integer(high, capital, liang, leading)
            tail = ""
            if low:
                tail = (digits[0] if low < zero_below else "") + _chinese_integer(low, capital, liang, False)
            return head + unit + tail
    if n == 0:
        return digits[0]
    text = _section(n, digits, units, liang, capital)
    if leading and not capital and text.startswith("一十"):
        text = text[1:]  # 十 / 十五万, not 一十
    return text


def format_number(value: Decimal, style: NumberStyle) -> str:
    """`value` written in `style`; `parse_number` of the result gives `value` back."""
    if value < 0:
        raise ValueError("amounts are never negative")
    with localcontext(_EXACT):
        return _format(value, style)


def _format(value: Decimal, style: NumberStyle) -> str:
    if style.form == "scaled" and style.scale:
        scale = Decimal(_UNIT_VALUES.get(style.scale, 1))
        text = plain_number(value / scale) + style.scale
    elif style.form in ("chinese", "capital") and value < Decimal(10) ** 16:
        capital = style.form == "capital"
        whole = int(value)
        text = _chinese_integer(whole, capital, style.liang and not capital)
        frac = value - whole
        if frac:
            digits = "零壹贰叁肆伍陆柒捌玖" if capital else "零一二三四五六七八九"
            text += "点" + "".join(digits[int(c)] for c in plain_number(frac).split(".")[1])
    else:
        if style.decimals and value == value.quantize(Decimal(1).scaleb(-style.decimals)):
            text = f"{value:.{style.decimals}f}"
        else:
            text = plain_number(value)
        head, _, tail = text.partition(".")
        # Dots group only two groups or more, never with a fraction: 4.000 would read as 4.
        if style.sep and (style.sep != "." or (not tail and int(head) >= 10**6)):
            text = f"{int(head):,}".replace(",", style.sep) + (f".{tail}" if tail else "")
    if style.fullwidth:
        text = text.translate(_FW_DIGITS)
    return text
