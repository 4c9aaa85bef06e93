"""The scripted replies the proxy tests use (each a `[[name]]` in the user message)."""

from __future__ import annotations

import json
from typing import Any

OK = "张先生您好。您的额度已经审核通过了。"
FIRST = "张先生您好。"
LONG_SENTENCE = "这是一个特别特别特别长的句子而且一直没有标点地说下去。"  # 27 characters > 20
LONG = FIRST + LONG_SENTENCE + "最后一句。"
BANNED = "张先生您好。我们这款产品稳赚不赔。欢迎办理。"
PHONE = "张先生您好。有事请拨打13812345678联系我。"
# A tool call whose arguments hold an ID number: it must never reach the client.
TOOL_ID_CARD = "110101199003078515"
TOOL_ARGUMENTS = json.dumps({"id_card": TOOL_ID_CARD})
TOOL_CALL: dict[str, Any] = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "lookup_balance", "arguments": TOOL_ARGUMENTS},
}
RECORD: dict[str, Any] = {"customer_id": "C1", "name": "张飞", "gender": "male", "credit_line": 4000}

SCENARIOS: dict[str, Any] = {
    "ok": OK,
    "long": LONG,
    "regen_then_ok": [LONG_SENTENCE + OK, OK],
    "regen_always": LONG_SENTENCE,
    "banned": BANNED,
    "phone": PHONE,
    "slow": {"reply": OK, "delay": 0.2, "chunk_delay": 0.02},
    "hang": {"fault": "hang"},
    "status500": {"status": 500},
    "status400": {"status": 400},
    "malformed": {"reply": OK + OK, "fault": "malformed"},
    "truncate": {"reply": OK + OK, "fault": "truncate"},
    "error_chunk": {"reply": OK + OK, "fault": "error_chunk"},
    "disconnect": {"fault": "disconnect"},
    "regen_then_500": [LONG_SENTENCE, {"status": 500}],
    "no_terminator": {"reply": "好" * 60, "chunk_chars": 3},
    "stall": {"reply": OK + OK, "chunks": [FIRST, "您的额度", "已经审核通过了。"], "chunk_delay": 1.3},
    "tool_call": {"reply": FIRST, "finish_reason": "tool_calls", "tool_calls": [TOOL_CALL]},
}


def ask(name: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"[[{name}]] 请介绍一下产品"}]
