from __future__ import annotations

import pytest

from guard.checks.pii.analyzer import PiiAnalyzer
from tests.checks.pii.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("邮箱wang@example.com", ["wang@example.com"]),  # Presidio's \w pattern swallows 邮箱
        ("请发到li.na_88@mail.bank.com.cn。", ["li.na_88@mail.bank.com.cn"]),
        ("Zhang.San+loan@163.com和x@qq.com", ["Zhang.San+loan@163.com", "x@qq.com"]),
        # read out by a voice reply: the symbols spelt
        ("邮箱是zhangfei艾特qq点com。", ["zhangfei艾特qq点com"]),
        ("邮箱是zhangfei 艾特 qq 点 com。", ["zhangfei 艾特 qq 点 com"]),
        ("邮箱zhangfei@qq点com。", ["zhangfei@qq点com"]),
        ("邮箱是zhangfei at qq dot com。", ["zhangfei at qq dot com"]),
        ("邮箱是zhangfei at qq.com。", ["zhangfei at qq.com"]),
        ("邮箱wang(at)mail.bank点com点cn", ["wang(at)mail.bank点com点cn"]),
    ],
)
def test_emails_found(analyzer: PiiAnalyzer, text: str, expected: list[str]) -> None:
    assert found(analyzer, text, "EMAIL_ADDRESS") == expected


@pytest.mark.parametrize(
    "text",
    ["@客服", "wang@localhost", "a..b@example.com", "微博@张三", "look at this", "我爱特别的你", "wang艾特qq", "a艾特b点c"],
)
def test_not_emails(analyzer: PiiAnalyzer, text: str) -> None:
    assert found(analyzer, text, "EMAIL_ADDRESS") == []
