from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from guard.testing.scripted_upstream import ScriptedUpstream, Step, load_scenarios


def test_scenarios_from_yaml(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("a: 你好。\nb:\n  - {reply: 一。, chunk_chars: 1}\n  - {status: 503}\n", encoding="utf-8")
    table = load_scenarios(f)
    assert table["a"].steps == (Step(reply="你好。"),)
    assert table["b"].step(0).chunk_chars == 1 and table["b"].step(5).status == 503


@pytest.mark.parametrize("raw", [{"replly": "x"}, 3])
def test_bad_steps_are_rejected(raw: object) -> None:
    with pytest.raises(ValueError):
        Step.parse(raw)


def test_attempts_follow_assistant_turns_after_the_marker() -> None:
    with ScriptedUpstream({"s": ["一。", "二。"]}) as up:
        def ask(messages: list[dict[str, str]]) -> str:
            r = httpx.post(up.base_url + "/chat/completions", json={"model": "m", "messages": messages})
            return str(r.json()["choices"][0]["message"]["content"])

        history = [{"role": "assistant", "content": "以前的话"}]
        assert ask([*history, {"role": "user", "content": "[[s]]"}]) == "一。"
        assert ask([*history, {"role": "user", "content": "[[s]]"}, {"role": "assistant", "content": "x"},
                    {"role": "user", "content": "fix"}]) == "二。"
        assert ask([{"role": "user", "content": "no marker"}]) == "您好，我是您的专属客服。"
        assert len(up.requests) == 3


def test_a_step_answers_with_tool_calls_streamed_and_not() -> None:
    from openai import OpenAI

    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    with ScriptedUpstream({"t": {"reply": "", "finish_reason": "tool_calls", "tool_calls": [call]}}) as up:
        client = OpenAI(base_url=up.base_url, api_key="x", max_retries=0)
        messages = [{"role": "user", "content": "[[t]]"}]
        choice = client.chat.completions.create(model="m", messages=messages).choices[0]  # type: ignore[arg-type]
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        assert choice.message.tool_calls is not None and choice.message.tool_calls[0].function.name == "f"
        chunks = list(client.chat.completions.create(model="m", messages=messages, stream=True))  # type: ignore[arg-type]
        calls = [c for chunk in chunks for ch in chunk.choices for c in ch.delta.tool_calls or ()]
        assert [(c.index, c.id, c.function and c.function.name) for c in calls] == [(0, "call_1", "f")]
        assert chunks[-1].choices[0].finish_reason == "tool_calls"
