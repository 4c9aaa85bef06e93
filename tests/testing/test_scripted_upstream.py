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
