"""Detailed postal addresses: down to a road, street or building number (GB/T 23705 elements).

A detailed address has a road-level part with a number (文三路90号, 建国路88号院3号楼) or a
housing estate with a building or room (阳光小区5栋2单元301室), optionally after province,
city, district and town names. A place name alone (北京, 朝阳区) is not a detailed address and
stays readable; masking keeps the province and city (`CITY_PREFIX`) and hides the rest.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from guard.checks.pii.recognizers._base import ChinesePatternRecognizer

__all__ = ["CITY_PREFIX", "ChineseAddressRecognizer"]

_PROVINCES = (
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南"
    "|四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门"
)
# A place-name character: CJK, but not the function words and verbs that come before addresses.
_C = r"(?:(?![在住于到是的了我你他她您和与及从向往去来寄送址为请把将由留填写改更位处家])[\u4e00-\u9fff])"
_NUM = r"[0-9一二三四五六七八九十百零〇]+"
_PROV = rf"(?:(?:{_PROVINCES})(?:省|市|自治区|特别行政区|壮族自治区|回族自治区|维吾尔自治区)?)"
_CITY = rf"(?:{_C}{{1,5}}?(?:市|自治州|地区|盟))"
_DIST = rf"(?:{_C}{{1,5}}?(?:区|县|旗|市))"
_TOWN = rf"(?:{_C}{{1,6}}?(?:街道|镇|乡))"
_ROAD = rf"(?:(?:{_C}|[0-9]){{1,8}}?(?:大道|路|街|巷|弄|胡同|道))"
_HOUSE = rf"(?:{_NUM}(?:号院|号|弄|支弄))"
_ESTATE = rf"(?:{_C}{{2,8}}?(?:小区|花园|公寓|大厦|家园|新村|苑|广场|村|社区|园区|园|中心|大楼))"
_UNIT = rf"(?:{_NUM}(?:号楼|栋|幢|座|单元|楼|层|室|号房|号)|[A-Za-z]座)"
_ADMIN = rf"(?:{_PROV}?{_CITY}?{_DIST}?{_TOWN}?)"

CITY_PREFIX = re.compile(rf"^(?:{_PROV}{_CITY}?|{_CITY})")


class ChineseAddressRecognizer(ChinesePatternRecognizer):
    """详细地址: road + number, or estate + building/room, after optional admin units."""

    ENTITY: ClassVar[str] = "CN_ADDRESS"
    CODE: ClassVar[str] = "pii.address"
    LABEL: ClassVar[str] = "地址"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "cn_address_road",
            rf"{_ADMIN}{_ROAD}{_HOUSE}(?:{_ESTATE}?{_UNIT}{{1,4}})?(?:{_UNIT}{{1,4}})?",
            0.7,
        ),
        Pattern("cn_address_estate", rf"{_ADMIN}{_ESTATE}{_UNIT}{{1,4}}", 0.6),
    )
    CONTEXT: ClassVar[tuple[str, ...]] = ("地址", "住址", "住在", "寄到", "送到", "家住", "位于")
