"""Detailed postal addresses: down to a road, street or building number (GB/T 23705 elements).

A detailed address has a road-level part with a number (文三路90号, 建国路88号院3号楼) or a
housing estate with a building or room (阳光小区5栋2单元301室), optionally after province,
city, district and town names. A place name alone (北京, 朝阳区) is not a detailed address and
stays readable; masking keeps the province and city (`CITY_PREFIX`) and hides the rest.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from presidio_analyzer import Pattern, RecognizerResult

from guard.checks.pii.recognizers._base import ChinesePatternRecognizer

__all__ = ["CITY_PREFIX", "ChineseAddressRecognizer"]

_PROVINCES = (
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南"
    "|四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门"
)
# A place-name character: CJK, but not the function words and verbs that come before addresses.
_STOP_CHARS = "在住于到是的了我你他她您和与及从向往去来寄送址为请把将由留填写改更位处家"
_STOP = frozenset(_STOP_CHARS)
_C = rf"(?:(?![{_STOP_CHARS}])[\u4e00-\u9fff])"
_NUM = r"[0-9一二三四五六七八九十百零〇]+"
_PROV = rf"(?:(?:{_PROVINCES})(?:省|市|自治区|特别行政区|壮族自治区|回族自治区|维吾尔自治区)?)"
_CITY = rf"(?:{_C}{{1,5}}?(?:市|自治州|地区|盟))"
_ESTATE = rf"(?:{_C}{{2,8}}?(?:小区|花园|公寓|大厦|家园|新村|苑|广场|村|社区|园区|园|中心|大楼))"
_UNIT = rf"(?:{_NUM}(?:号楼|栋|幢|座|单元|楼|层|室|号房|号)|[A-Za-z]座)"

CITY_PREFIX = re.compile(rf"^(?:{_PROV}{_CITY}?|{_CITY})")


_ANCHOR_ROAD = rf"(?:大道|路|街|巷|胡同){_NUM}(?:号院|号|弄)"
_ANCHOR_ESTATE = rf"(?:小区|花园|公寓|大厦|家园|新村|苑|广场|社区|园区|大楼){_NUM}(?:号楼|栋|幢|座|单元)"
_TAIL = re.compile(rf"(?:{_ESTATE}?{_UNIT}{{1,4}})?")
_MAX_LEFT = 24


def _left_edge(text: str, start: int) -> int:
    """Walk left over place-name characters (CJK, not a function word) from `start`."""
    i = start
    while (
        i > 0 and start - i < _MAX_LEFT and "\u4e00" <= text[i - 1] <= "\u9fff" and text[i - 1] not in _STOP
    ):
        i -= 1
    return i


class ChineseAddressRecognizer(ChinesePatternRecognizer):
    """详细地址: a road + house number or an estate + building, widened to the whole address.

    The patterns Presidio runs are only the anchors (路 + 号, 小区 + 栋), which are cheap; each
    anchor is then widened left over place-name characters (admin units, road name) and right over
    building, unit and room numbers. One regex for the whole address backtracks badly (~0.4 ms
    on a 50-character reply), this way costs a few µs.
    """

    ENTITY: ClassVar[str] = "CN_ADDRESS"
    CODE: ClassVar[str] = "pii.address"
    LABEL: ClassVar[str] = "详细地址"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern("cn_address_road", _ANCHOR_ROAD, 0.7),
        Pattern("cn_address_estate", _ANCHOR_ESTATE, 0.6),
    )
    CONTEXT: ClassVar[tuple[str, ...]] = ("地址", "住址", "住在", "寄到", "送到", "家住", "位于")

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: int | None = None
    ) -> list[RecognizerResult]:
        """Anchors from Presidio's pattern matching, widened to the full address."""
        out: list[RecognizerResult] = []
        anchors = sorted(super().analyze(text, entities, nlp_artifacts, regex_flags), key=lambda r: r.start)
        for r in anchors:
            start = _left_edge(text, r.start)
            if start == r.start and getattr(r.analysis_explanation, "pattern_name", "") == "cn_address_road":
                continue  # 路 with no road name before it
            tail = _TAIL.match(text, r.end)
            end = tail.end() if tail else r.end
            if out and start < out[-1].end:
                out[-1].end = max(out[-1].end, end)
                continue
            r.start, r.end = start, end
            out.append(r)
        return out
