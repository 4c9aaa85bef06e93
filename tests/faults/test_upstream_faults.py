"""Every upstream fault, streamed and not, against the app as `create_app(settings)` builds it.

Each scripted reply carries a sentinel (哨兵…) in text the guard can never have checked when the
fault hits. For every row: the client gets the documented answer (docs/operations.md, Errors), the
sentinel never reaches it, whatever text it got is exactly what the ledger says was released, and
the ledger holds a record for the response's trace id (`x-guard-trace-id`, also on errors).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from guard.testing.scripted_upstream import ScriptedUpstream
from tests.faults.harness import RECORD, Served, closed_port, full_backlog_port, serve_guard

FIRST = "张先生您好。"
SECOND = "您的额度已经审核通过了。"
SENTINEL = "哨兵甲乙丙"
TAIL = f"{SENTINEL}不应出现。"
BIG = FIRST + SECOND * 300_000 + TAIL  # ≈ 10 MB of UTF-8
MAX_CHARS = 150  # max_reply_chars of the scripted guard (below the policy's reply_max of 200)


def _sentinel_reply(n: int = 1) -> str:
    return FIRST + SECOND * n + TAIL


SCENARIOS: dict[str, Any] = {
    "first_byte_timeout": {"reply": _sentinel_reply(), "delay": 5.0},
    "stall": {"reply": _sentinel_reply(), "chunks": [FIRST, SECOND, SENTINEL, "不应出现。"], "chunk_delay": 4.0},
    "status500": {"reply": _sentinel_reply(), "status": 500},
    "status429": {"reply": _sentinel_reply(), "status": 429, "headers": {"retry-after": "7"}},
    "malformed": {"reply": _sentinel_reply(2), "fault": "malformed"},
    "invalid_utf8": {"reply": _sentinel_reply(2), "fault": "invalid_utf8", "chunk_chars": 6},
    "truncate": {"reply": _sentinel_reply(2), "fault": "truncate", "chunk_chars": 6},
    "ten_mb": {"reply": BIG, "chunk_chars": 65_536},
    "too_long": {"reply": _sentinel_reply(20), "chunk_chars": 6},  # 256 characters > MAX_CHARS
    "whitespace": {"reply": " \n\t\u3000  \n"},
    "emoji": {"reply": "😀🎉👍🏻" * 20},
}


@dataclass(frozen=True)
class Expect:
    """What the client gets: an HTTP error (`status`, `code`) or a 200 whose `guard.error` is `error`."""

    status: int = 200
    code: str | None = None
    error: str | None = None
    decision: str | None = None  # the decision on a 200, when the row pins it


ROWS: list[tuple[str, bool, Expect]] = [
    ("connect_refused", False, Expect(502, "upstream_connect")),
    ("connect_refused", True, Expect(502, "upstream_connect")),
    ("connect_timeout", False, Expect(504, "upstream_timeout")),
    ("connect_timeout", True, Expect(504, "upstream_timeout")),
    ("first_byte_timeout", False, Expect(504, "upstream_timeout")),
    ("first_byte_timeout", True, Expect(504, "upstream_timeout")),
    ("stall", True, Expect(error="upstream_timeout", decision="block")),
    ("status500", False, Expect(502, "upstream_status")),
    ("status500", True, Expect(502, "upstream_status")),
    ("status429", False, Expect(502, "upstream_status")),
    ("status429", True, Expect(502, "upstream_status")),
    ("malformed", False, Expect(502, "upstream_malformed")),
    ("malformed", True, Expect(error="upstream_malformed", decision="block")),
    ("invalid_utf8", False, Expect(502, "upstream_malformed")),
    ("invalid_utf8", True, Expect(error="upstream_malformed", decision="block")),  # never decoded with U+FFFD
    ("truncate", False, Expect(502, "upstream_protocol")),
    ("truncate", True, Expect(error="upstream_truncated", decision="block")),
    ("ten_mb", False, Expect(502, "upstream_too_large")),
    ("ten_mb", True, Expect(error="upstream_too_large", decision="block")),
    ("too_long", False, Expect(502, "upstream_too_large")),
    ("too_long", True, Expect(error="upstream_too_large", decision="block")),
    ("whitespace", False, Expect()),
    ("whitespace", True, Expect()),
    ("emoji", False, Expect()),
    ("emoji", True, Expect()),
]


@pytest.fixture(scope="module")
def upstream() -> Iterator[ScriptedUpstream]:
    with ScriptedUpstream(SCENARIOS) as up:
        yield up


@pytest.fixture(scope="module")
def guards(upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Served]]:
    """One guard on the scripted upstream, one on a refused port, one on a port that never accepts."""
    with (
        full_backlog_port() as stuck,
        serve_guard(
            upstream.base_url,
            tmp_path_factory.mktemp("scripted"),
            max_reply_chars=MAX_CHARS,  # timeouts: the harness's generous defaults; slow steps sleep longer
        ) as scripted,
        serve_guard(f"http://127.0.0.1:{closed_port()}/v1", tmp_path_factory.mktemp("refused")) as refused,
        serve_guard(f"http://127.0.0.1:{stuck}/v1", tmp_path_factory.mktemp("stuck"), upstream_connect_timeout=0.5) as timeout,
    ):
        yield {"connect_refused": refused, "connect_timeout": timeout, "scripted": scripted}


def _call(served: Served, scenario: str, stream: bool) -> tuple[int, str, dict[str, Any], str, dict[str, str]]:
    """(status, released text, guard object or error body, trace id, headers) through the openai client."""
    client = served.client()
    kwargs: dict[str, Any] = {
        "model": scenario,
        "messages": [{"role": "user", "content": "请介绍一下产品"}],
        "extra_body": {"guard": {"record": RECORD}},
    }
    try:
        if not stream:
            raw = client.chat.completions.with_raw_response.create(**kwargs)
            resp = raw.parse()
            extra = resp.model_extra or {}
            return 200, resp.choices[0].message.content or "", extra["guard"], raw.headers["x-guard-trace-id"], {}
        with client.chat.completions.with_streaming_response.create(stream=True, **kwargs) as raw:
            trace = raw.headers["x-guard-trace-id"]
            pieces, guard = [], {}
            for chunk in raw.parse():
                for choice in chunk.choices:
                    if choice.delta.content:
                        pieces.append(choice.delta.content)
                guard = (chunk.model_extra or {}).get("guard") or guard
            return 200, "".join(pieces), guard, trace, {}
    except openai.APIStatusError as err:
        headers = dict(err.response.headers)
        return err.status_code, err.response.text, err.response.json()["error"], headers.get("x-guard-trace-id", ""), headers


@pytest.mark.parametrize(("scenario", "stream", "expect"), ROWS, ids=[f"{r[0]}-{'stream' if r[1] else 'plain'}" for r in ROWS])
def test_upstream_fault(guards: dict[str, Served], scenario: str, stream: bool, expect: Expect) -> None:
    served = guards.get(scenario, guards["scripted"])
    status, text, obj, trace, headers = _call(served, scenario, stream)
    assert status == expect.status, (status, obj)
    assert SENTINEL not in text  # no unchecked character reaches the client
    records = served.records()
    assert trace in records, "no audit record for this trace"
    rec = records[trace]
    if status != 200:
        assert set(obj) == {"message", "type", "code"} and obj["code"] == expect.code
        assert FIRST not in text and "张" not in obj["message"]
        assert rec["decision"] == "error" and rec["error"] == expect.code and rec["released"] is None
        if scenario == "status429":
            assert headers.get("retry-after") == "7"
        return
    assert text == (rec["released"] or "")  # the client got exactly what the guard checked and released
    assert obj["trace_id"] == trace and obj["decision"] == rec["decision"]
    assert obj.get("error") == expect.error == rec.get("error")
    if expect.decision is not None:
        assert obj["decision"] == expect.decision
    if expect.error is not None:  # mid-stream failure: whole checked sentences, then the fallback
        fallback = text.removeprefix(FIRST)
        while fallback.startswith(SECOND):
            fallback = fallback.removeprefix(SECOND)
        assert fallback and FIRST not in fallback and SECOND not in fallback
