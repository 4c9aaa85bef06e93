"""Names and honorifics: `fact.name` and `fact.gender` (contract §2).

A name claim is read only where a reply names a person: before an honorific (张先生, 欧阳女士,
李总), at a clause start before it (张飞先生您好), or as a 2–3 character near miss of the
record's name (same or similar sound, similar shape: 张非 or 章飞 for 张飞). Ordinary words that
merely contain a surname character (张开, 王者, 高兴, 李子) are never a claim.

Odd record names: a one-character name is its own surname (no near-miss search); a name with
Latin letters or a middle dot (阿依古丽·买买提, John Smith) is accepted in full or by any of its
parts before an honorific, and a Han surname before an honorific is then a wrong name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from guard.checks.facts.common import CLAUSE_ENDS, finding
from guard.checks.facts.config import GenderRule, NameRule
from guard.checks.facts.surnames import COMPOUND_SURNAMES, CONFUSABLE, SURNAME_RANK, SURNAMES
from guard.text.pinyin import Style, pinyin
from guard.types import CustomerRecord, Finding

__all__ = ["NameChecker", "NameInfo", "name_info", "same_sound", "similar_char"]

_PARTS_SPLIT = re.compile(r"[·•・.．\s]+")
_LATIN_TAIL = re.compile(r"[A-Za-z][A-Za-z'\-]*$")
# After 总 these characters make a word (总额, 总共, 总是), not the honorific 张总.
_NOT_HONORIFIC_AFTER_ZONG = frozenset("额共是计体之结部数量和价金利费算会归要得括裁监经行还数分欠账")
_GAP = frozenset(" \u3000\u200b\u200c\u200d\u2060\ufeff\t")
_ADDRESS_AFTER = frozenset("您你，,好！!。：: ")
_FULL_NAME_BEFORE = ("尊敬的", "亲爱的", "您好", "你好")
# Where another surname with the customer's given name (李飞 for 张飞) is a wrong name: right
# after `_FULL_NAME_BEFORE` or right before 您好. A clause start is not enough (公安, 明明, 季军 begin clauses
# as words), nor a bare comma after (展翅高飞，); before an honorific the honorific's own rule
# reads the name (李飞先生 at a clause start; 交际花华小姐 is 华, not 花华).
# …then _ASKED or an honorific (您是李飞吗, not 您是文明系列的)
_ASKING = ("您是", "你是", "请问是", "您本人是", "你本人是")
_ASKED = frozenset("吗么吧嘛？?，,。本")
_ADDRESSED_BY = ("您好", "你好", "，您好", "，你好", ",您好", ", 您好")
# Asking the customer, though it ends with an `others` word (本人是): 请问您本人是章飞吗.
_ASKING_THE_CUSTOMER = ("您本人是", "你本人是")


def _someone_else(before: str, others: tuple[str, ...]) -> bool:
    """Whether the text right before a name says it is someone else's (稍后专员李先生, 您爱人王女士)."""
    return before.endswith(others) and not before.endswith(_ASKING_THE_CUSTOMER)


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))


def _fuzzy(syllable: str) -> str:
    for a, b in _INITIALS:
        if syllable.startswith(a):
            syllable = b + syllable[len(a) :]
            break
    for a, b in _FINALS:
        if syllable.endswith(a):
            syllable = syllable[: -len(a)] + b
            break
    return syllable


@lru_cache(maxsize=4096)
def _sounds(ch: str) -> frozenset[str]:
    """Toneless, fuzzed (zh=z, n=l, ang=an …) readings of one character, heteronyms included."""
    readings = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")
    return frozenset(_fuzzy(s) for group in readings for s in group)


@lru_cache(maxsize=4096)
def _exact_sounds(ch: str) -> frozenset[str]:
    readings = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")
    return frozenset(s for group in readings for s in group)


@lru_cache(maxsize=65536)
def same_sound(a: str, b: str) -> bool:
    """Same character or the same toneless reading (飞/非), no fuzzing."""
    return a == b or bool(_exact_sounds(a) & _exact_sounds(b))


@lru_cache(maxsize=65536)
def similar_char(a: str, b: str) -> bool:
    """Same character, a known confusable, or a similar reading."""
    if a == b or b in CONFUSABLE.get(a, ()):
        return True
    return bool(_sounds(a) & _sounds(b))


@dataclass(frozen=True, slots=True)
class NameInfo:
    """What a record's name allows: the surname, the accepted parts, whether near misses apply."""

    full: str
    surname: str | None
    parts: tuple[str, ...]
    han: bool  # all Han characters, no dot: surname rules and near misses apply


@lru_cache(maxsize=1024)
def name_info(name: str) -> NameInfo:
    """Cached per name (records repeat across a call)."""
    full = name.strip()
    han = bool(full) and all(_is_han(c) for c in full)
    if han:
        surname = full[:2] if len(full) > 2 and full[:2] in COMPOUND_SURNAMES else full[0]
        return NameInfo(full, surname, (full, surname), True)
    parts = tuple(p for p in _PARTS_SPLIT.split(full) if p)
    return NameInfo(full, None, (full, *parts), False)


class NameChecker:
    """Finds name and honorific claims and checks them against the record."""

    def __init__(self, name_rule: NameRule, gender_rule: GenderRule) -> None:
        self.rule = name_rule
        self.gender_rule = gender_rule
        words = sorted({*name_rule.male, *name_rule.female, *name_rule.neutral}, key=len, reverse=True)
        self._honorific = re.compile("|".join(re.escape(w) for w in words))
        self._male = frozenset(name_rule.male)
        self._female = frozenset(name_rule.female)
        self._neutral = frozenset(name_rule.neutral)
        self._others = tuple(name_rule.others)
        self._after_name = (*words, "您好", "你好", "，", ",", "：", ":")

    def run(self, reply: str, record: CustomerRecord) -> list[Finding]:
        info = name_info(record.name)
        out: list[Finding] = []
        near: list[tuple[int, int]] = []
        if self.rule.near_miss and info.han and len(info.full) >= 2:
            near = self._near_misses(reply, info.full, self._after_name, self._others)
            for span in near:
                out.append(self._name_finding(span, info.full))
        for m in self._honorific.finditer(reply):
            out.extend(self._honorific_claim(reply, m.start(), m.end(), m.group(), info, near, record.gender))
        return out

    def _name_finding(self, span: tuple[int, int], replacement: str) -> Finding:
        return finding(
            "fact.name",
            span,
            "称呼的姓名与客户记录不符",
            self.rule.action,
            "block",
            replacement=replacement,
            correction="回复里称呼客户的姓名不对，请按客户记录的姓名称呼客户，不要写错字或同音字。",
        )

    @staticmethod
    def _near_misses(
        reply: str, full: str, after_name: tuple[str, ...], others: tuple[str, ...]
    ) -> list[tuple[int, int]]:
        """Windows that read like the record's name. Where a name is expected (after 尊敬的, at a
        clause start, before an honorific or 您好) any similar character counts (章飞, 张菲, 汪芳);
        elsewhere only the same toneless reading does, so 展开 or 顽强 never pass for a name.
        Where the customer is clearly addressed (尊敬的李飞, 李飞您好, 请问您是李飞吗), the given
        name after another surname counts too (李飞 for 张飞)."""
        n = len(full)
        exact: list[int] = []
        pos = reply.find(full)
        while pos >= 0:
            exact.append(pos)
            pos = reply.find(full, pos + 1)
        starts: set[int] = set()
        for k, ch in enumerate(full):
            pos = reply.find(ch)
            while pos >= 0:
                if pos - k >= 0:
                    starts.add(pos - k)
                pos = reply.find(ch, pos + 1)
        # The same given name after another surname (李飞 for 张飞) is a wrong name where the
        # customer is clearly addressed; a one-character surname only (a compound one changes the length).
        other_surname = n >= 2 and full[:2] not in COMPOUND_SURNAMES
        out: list[tuple[int, int]] = []
        for i in sorted(starts):
            window = reply[i : i + n]
            if len(window) < n or window == full or any(i < e + n and e < i + n for e in exact):
                continue
            if not all(_is_han(c) for c in window):
                continue
            head = reply[:i].rstrip(" ")
            if _someone_else(head, others):
                continue  # someone else: 您的紧急联系人章飞, 稍后专员张菲
            address = (
                not head or head[-1] in CLAUSE_ENDS or head.endswith(_FULL_NAME_BEFORE) or reply.startswith(after_name, i + n)
            )
            similar = similar_char if address else same_sound
            if all(similar(w, f) for w, f in zip(window, full, strict=True)) or (
                other_surname
                and window[1:] == full[1:]
                and window[0] in SURNAMES
                and (
                    head.endswith(_FULL_NAME_BEFORE)
                    or reply.startswith(_ADDRESSED_BY, i + n)
                    or (head.endswith(_ASKING) and (reply[i + n : i + n + 1] in _ASKED or reply.startswith(after_name, i + n)))
                )
            ):
                if out and i < out[-1][1]:
                    continue
                out.append((i, i + n))
        return out

    def _honorific_claim(
        self,
        reply: str,
        h: int,
        h_end: int,
        word: str,
        info: NameInfo,
        near: list[tuple[int, int]],
        gender: str,
    ) -> list[Finding]:
        name_end = h
        while name_end > 0 and reply[name_end - 1] in _GAP:
            name_end -= 1  # 张 先生: the name ends before the gap
        prior = reply[max(0, name_end - 12) : name_end]
        out: list[Finding] = []
        addressed = False
        own = max((len(p) for p in info.parts if prior.endswith(p)), default=0)
        if own or any(e == name_end for _, e in near):
            start = name_end - own if own else next(s for s, e in near if e == name_end)
            if _someone_else(reply[max(0, start - 4) : start], self._others):
                return []  # someone else with the customer's surname: 您父亲张先生, 您女儿张女士
            addressed = True
        else:
            span, wrong = self._surname_before(reply, name_end, prior, info, full_names=word not in self._neutral)
            if span is not None and _someone_else(reply[max(0, span[0] - 4) : span[0]], self._others):
                return []  # someone else: 稍后专员李先生会联系您
            if span is not None:
                addressed = True
                if wrong:
                    use_surname = wrong == "surname" and info.han and info.surname
                    replacement = info.surname if use_surname and info.surname else info.full
                    out.append(self._name_finding(span, replacement))
            elif word not in self._neutral:
                before = prior.rstrip(" ")
                after = reply[h_end : h_end + 1]
                addressed = (not before or before[-1] in CLAUSE_ENDS or before[-1] in "：:“\"") and (
                    not after or after in _ADDRESS_AFTER
                )
        if word in self._neutral:
            if not addressed or reply[h_end : h_end + 1] in _NOT_HONORIFIC_AFTER_ZONG:
                return []
            return out
        if addressed:
            male = gender == "male"
            if (male and word in self._female) or (not male and word in self._male):
                right = self.rule.male[0] if male else self.rule.female[0]
                out.append(
                    finding(
                        "fact.gender",
                        (h, h_end),
                        f"称谓与客户性别不符（客户记录为{'男' if male else '女'}性，应称“{right}”）",
                        self.gender_rule.action,
                        "block",
                        replacement=right,
                        correction=f"客户是{'男' if male else '女'}性，请称呼“{right}”，不要用“{word}”。",
                    )
                )
        return out

    def _surname_before(
        self, reply: str, h: int, prior: str, info: NameInfo, *, full_names: bool = True
    ) -> tuple[tuple[int, int] | None, str]:
        """The name-like text right before an honorific and what it is: "surname", "full" (both
        wrong, the right forms were tried first), "" (a right Latin part); (None, "") for none."""
        if prior.endswith("谢谢"):
            return None, ""
        if not info.han:
            latin = _LATIN_TAIL.search(prior)
            if latin:
                ok = latin.group().lower() in {p.lower() for p in info.parts}
                return (h - len(latin.group()), h), "" if ok else "full"
        if len(prior) >= 2 and prior[-2:] in COMPOUND_SURNAMES:
            return (h - 2, h), "surname"
        for k in (3, 2) if full_names else ():
            # A different full name (王小明先生) right after an address start: the whole name
            # (not 谢谢李先生: a doubled first character is a word).
            cand = prior[-k:]
            if len(cand) == k and cand[0] in SURNAMES and cand[0] != cand[1] and all(_is_han(c) for c in cand):
                head = prior[:-k]
                if not head or head[-1] in CLAUSE_ENDS or head.endswith(_FULL_NAME_BEFORE):
                    return (h - k, h), "full"
        last = SURNAME_RANK.get(prior[-1]) if prior else None
        if full_names and last is not None:
            # 转告李明先生, 王小明先生: a more common surname one or two characters earlier makes
            # the character before the honorific a given name (明, 华, 林), not a surname: the
            # whole name is wrong (李明 → 李张 was the fix). 感谢王先生 stays 王.
            for k in (2, 3):
                cand = prior[-k:]
                if len(cand) == k and SURNAME_RANK.get(cand[0], last) < last and all(_is_han(c) for c in cand):
                    return (h - k, h), "full"
        if last is not None:
            return (h - 1, h), "surname"
        return None, ""
