"""Chinese numbers and amounts: find them in a reply, parse them exactly, render them back.

Every written form a reply may use for the same value parses to the same `Decimal`:
4000元, 4,000元, 4000.00元, ￥4000, 4000块, 四千元, 肆仟元, 4千元, 0.4万元, ４０００元 (full-width),
digits grouped by thousands with a comma, a space of any width (5 000, 5\u00a0000, 5\u202f000,
5\u2009000) or an apostrophe (5'000) — 1 to 3 digits, then groups of exactly 3 —, the forms mixing
digits with 千/万/亿 (1.55万, 20万, 4万5千, 1万5) or with K = 千 and W = 万 as chat writes them (5K,
5k, 1.5W, 2w; not inside a name such as GPT-4K or A5K, nor before another letter or digit: 5KB,
5kg, 5k5), Chinese numerals (四千五百, 两万, 一万零五百, 四千五 = 4500) and financial capitals
(肆仟, 伍万, 贰拾万).

`scan_numbers(text)` returns every number with its span (code points of the original text), its
written `NumberStyle`, its currency marks and the character after it; `format_number(value, style)`
renders a value in a given style, so a fix keeps the reply's style: 五千元 → 四千元, 5000元 → 4000元,
0.5万 → 0.4万, 5 000元 → 4 000元, 5K → 4K. Malformed numerals (千万, 万一, 百分之) are simply not numbers.

A number another digit touches — directly, or across one separator (5-000, 4000，5000, 5 0001) —
is `glued`: where it ends is ambiguous, so a fix must not splice a new value into its span
(5 000 read as 000 and "fixed" to 5 4000); the fact checks fall back to their `fallback` action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation, localcontext
from typing import Literal

__all__ = [
    "NumberMatch",
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

_LOWER_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
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
_ARABIC = (
    rf"\d{{1,3}}+(?:(?:[,，]\d{{3}})+|(?:[{_SPACE_SEPS}]\d{{3}})+(?!\d))(?:\.\d+)?"
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


@dataclass(frozen=True, slots=True)
class NumberStyle:
    """How a number was written, so a replacement can be written the same way."""

    form: Form = "arabic"
    sep: str = ""  # thousands separator used (one of `GROUP_SEPS`: "," "，" " " "\u202f" "'" …), "" for none
    decimals: int = 0  # decimal places shown (arabic and scaled forms)
    fullwidth: bool = False
    scale: str = ""  # 千 / 万 / 亿 (or K / k / W / w as written) for the scaled form (0.4万, 4K)
    liang: bool = False  # the Chinese form said 两 for a leading 2


@dataclass(slots=True)
class NumberMatch:
    """One number in a text: value, spans and written style.

    `start`/`end` cover the number itself; `full_start`/`full_end` include currency marks.
    `money` says the number reads as an amount of money (a currency mark, a 千/万/亿 multiplier,
    or 3 to 8 bare Arabic digits not followed by a non-money unit such as 天, 岁, 折, % and not
    glued to other digits by - : /).
    `glued` says another digit touches `[start, end)`, directly or across one separator
    (`DIGIT_GLUE`): the number's extent is ambiguous and no fix may splice a value into it.
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
        found = _GROUP_SEP.search(folded)
        sep = found.group() if found else ""
        frac = folded.split(".", 1)[1] if "." in folded else ""
        decimals = len(frac) if frac and not frac.strip("0") else 0  # 4000.00 is a style; 4000.5 a value
        return NumberStyle(form="arabic", sep=sep, decimals=decimals, fullwidth=fullwidth)
    if any(c in _CAPITAL_CHARS for c in core):
        return NumberStyle(form="capital")
    return NumberStyle(form="chinese", liang="两" in core)


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
    for m in _CORE.finditer(folded, first.start()):
        start, end = m.span()
        core = m.group()
        if core[-1] in _LATIN_UNITS and _in_name(folded, start):
            end -= 1  # GPT-4K: the number is 4, its K a letter of the name
            core = core[:-1]
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
                continue
            style = _style(text[start:end])
        pre = _PREFIX.search(folded, max(0, start - 4), start) if start else None
        full_start = pre.start() if pre else start
        post = _SUFFIX.match(folded, end)
        full_end = post.end() if post else end
        currency = full_start != start or full_end != end
        after = folded[full_end] if full_end < n else ""
        if currency:
            money = True
        elif after in _NOT_MONEY_AFTER or _joined(folded, start, full_end):
            money = False
        elif style.form == "arabic":
            # A bare amount has 3 to 8 digits: 3、6、12 are counts, long runs are ids or phones.
            money = style.sep != "" or 3 <= len(core.split(".")[0]) < 9
        else:
            money = any(c in _MONEY_UNITS for c in core)
        # Most numbers stand between letters or 元: look closer only when a digit or a separator
        # touches them.
        glued = (
            (start > 0 and folded[start - 1] in _TOUCHING) or (end < n and folded[end] in _TOUCHING)
        ) and _glued(folded, start, end)
        out.append(NumberMatch(value, start, end, full_start, full_end, style, currency, money, after, glued))
    return out


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
        if style.sep:
            head, _, tail = text.partition(".")
            text = f"{int(head):,}".replace(",", style.sep) + (f".{tail}" if tail else "")
    if style.fullwidth:
        text = text.translate(_FW_DIGITS)
    return text
