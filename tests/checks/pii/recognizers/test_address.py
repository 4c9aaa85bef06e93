from __future__ import annotations

import pytest

from guard.checks.pii.analyzer import PiiAnalyzer
from tests.checks.pii.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("请寄到浙江省杭州市西湖区文三路90号", ["浙江省杭州市西湖区文三路90号"]),
        ("我住在北京市朝阳区建国路88号院3号楼2单元1201室", ["北京市朝阳区建国路88号院3号楼2单元1201室"]),
        ("上海市浦东新区张江镇科苑路88号", ["上海市浦东新区张江镇科苑路88号"]),
        ("他家在阳光小区5栋2单元301室", ["阳光小区5栋2单元301室"]),
    ],
)
def test_addresses_found(analyzer: PiiAnalyzer, text: str, expected: list[str]) -> None:
    assert found(analyzer, text, "CN_ADDRESS") == expected


@pytest.mark.parametrize("text", ["北京市朝阳区", "欢迎来杭州", "第3号窗口", "中山路", "您的额度4000元"])
def test_not_detailed_addresses(analyzer: PiiAnalyzer, text: str) -> None:
    assert found(analyzer, text, "CN_ADDRESS") == []


def test_two_addresses_in_one_reply(analyzer: PiiAnalyzer) -> None:
    text = "住在阳光小区5栋2单元301室，寄到浙江省杭州市西湖区文三路90号"
    assert found(analyzer, text, "CN_ADDRESS") == ["阳光小区5栋2单元301室", "浙江省杭州市西湖区文三路90号"]
