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
# Text in fields besides `content` (never checked): a tier-3 phrase, an ID number, a mobile.
SECRET = "稳赚不赔，身份证110101199003078515，电话13812345678"
SECRET_PARTS = ("稳赚", "110101199003078515", "13812345678", "身份证")
SECOND = "您的额度已经审核通过了。"
LONG_1201 = "好" * 1200 + "。"  # one sentence past the app's stream_max_sentence_chars (1000)


def chunk(**fields: Any) -> dict[str, Any]:
    """A streamed chunk object as an upstream sends it (for `events`)."""
    return {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "m", **fields}


def delta(content: str) -> dict[str, Any]:
    return chunk(choices=[{"index": 0, "delta": {"content": content}, "finish_reason": None}])


def answer(content: str, finish: Any = "stop", **fields: Any) -> dict[str, Any]:
    """A non-streamed answer object (for `body`)."""
    message = {"role": "assistant", "content": content}
    return {"id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}], **fields}


# Upstream metadata holding text or objects: none of it may reach the client.
_BAD_USAGE = {
    "prompt_tokens": 10, "completion_tokens": 6, "total_tokens": 16, "note": SECRET, "cost_tokens": SECRET,
    "neg_tokens": -1, "big_tokens": 2**70, "flag_tokens": True, "电话13812345678_tokens": 1,
    "completion_tokens_details": {"reasoning_tokens": 2, "note": SECRET, "x_tokens": [SECRET]},
    "prompt_tokens_details": SECRET,
}
SANE_USAGE = {"prompt_tokens": 10, "completion_tokens": 6, "total_tokens": 16,
              "completion_tokens_details": {"reasoning_tokens": 2}}
_GOOD_META = {"id": "chatcmpl-up.1:a_b", "system_fingerprint": "fp_44709d6fcb", "usage": SANE_USAGE}

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
    # upstream metadata: free-form values are never relayed, safe ones are
    "meta_text": {
        "reply": FIRST, "finish_reason": SECRET,
        "events": [delta(FIRST), chunk(choices=[], usage=_BAD_USAGE)],
        "body": answer(FIRST, SECRET, id=SECRET, system_fingerprint=SECRET, usage=_BAD_USAGE),
    },
    "meta_objects": {
        "reply": FIRST,
        "events": [delta(FIRST), chunk(choices=[], usage=SECRET)],
        "body": answer(FIRST, {"t": SECRET}, id={"t": SECRET}, system_fingerprint=[SECRET], usage=[SECRET],
                       created=SECRET),
    },
    "meta_good": {
        "reply": FIRST, "finish_reason": "length",
        "events": [delta(FIRST), chunk(choices=[], usage=SANE_USAGE)],
        "body": answer(FIRST, "length", **_GOOD_META),
    },
    # JSON escapes of UTF-16 surrogates: a pair split across two deltas, a lone one
    "surrogate_pair_split": {"events": [delta("张先生您好\ud83d"), delta("\ude00。"), delta(SECOND)]},
    "surrogate_lone": {
        "events": [delta("张先生您好\ud83d。"), delta("\ude00再见\ud800")],
        "body": answer("张先生您好\ud83d。\ude00再见\ud800"),
    },
    # choices that are not a list, mid-stream: malformed
    "choices_int": {"events": [delta(FIRST), chunk(choices=5), delta(SECRET + "。")]},
    "choices_true": {"events": [delta(FIRST), chunk(choices=True), delta(SECRET + "。")]},
    "choices_str": {"events": [delta(FIRST), chunk(choices=SECRET)]},
    # error events mid-stream, with choices or in the `object: error` shape
    "error_with_choices": {"events": [
        delta(FIRST),
        chunk(error={"message": "failed", "type": "server_error"},
              choices=[{"index": 0, "delta": {"content": "您的额度"}, "finish_reason": None}]),
        delta("已经审核通过了。"),
    ]},
    "error_empty_choices": {"events": [
        delta(FIRST), chunk(error={"message": "failed"}, choices=[]), delta("已经审核通过了。"),
    ]},
    "error_object": {"events": [
        delta(FIRST), delta("您的额度"),
        {"object": "error", "message": "failed", "type": "InternalServerError", "code": 500},
    ]},
    # one sentence past the stream's hard cap, in one delta and as 1000 + 201
    "cap_one_delta": {"reply": FIRST + LONG_1201, "chunks": [FIRST + LONG_1201]},
    "cap_1000_201": {"reply": FIRST + LONG_1201, "chunks": [FIRST, LONG_1201[:1000], LONG_1201[1000:]]},
    "cap_100s": {"reply": FIRST + LONG_1201, "chunk_chars": 100},
}


def ask(name: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"[[{name}]] 请介绍一下产品"}]
