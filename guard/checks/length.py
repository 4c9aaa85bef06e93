"""Length limits per sentence and per reply, on Chinese sentence boundaries (contract §3).

A phone call cannot carry a 70-character sentence: the listener loses it. `length.sentence` flags
every sentence longer than `sentence_max`; `length.reply` flags the first sentence from which the
reply as a whole is longer than `reply_max` (its span runs to the end of the reply).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from guard.checks.base import CheckConfig, CheckInput, CheckSpec, PolicyContext
from guard.types import Action, Finding

__all__ = ["LENGTH", "LengthCheck", "LengthConfig"]


class LengthConfig(CheckConfig):
    """句长与回复总长限制。"""

    sentence_max: int | None = Field(default=50, ge=1, description="单句最多字数（不计空白，计标点）")
    reply_max: int | None = Field(default=None, ge=1, description="整条回复最多字数")
    action: Literal["warn", "truncate", "regenerate", "block"] = "truncate"


class LengthCheck:
    """Flags sentences and replies over the configured limits."""

    name: ClassVar[str] = "length"

    def __init__(self, config: LengthConfig) -> None:
        self.config = config
        self.action = Action(config.action)

    def run(self, inp: CheckInput) -> list[Finding]:
        cfg = self.config
        out: list[Finding] = []
        total = 0
        reply_flagged = False
        for s in inp.sentences:
            if cfg.sentence_max is not None and s.length > cfg.sentence_max:
                out.append(
                    Finding(
                        code="length.sentence",
                        start=s.start,
                        end=s.content_end,
                        detail=f"句子 {s.length} 字，超过上限 {cfg.sentence_max} 字",
                        action=self.action,
                        correction=f"有一句话 {s.length} 字，每句不能超过 {cfg.sentence_max} 字，请拆成短句。",
                    )
                )
            total += s.length
            if cfg.reply_max is not None and not reply_flagged and total > cfg.reply_max:
                reply_flagged = True
                whole = sum(x.length for x in inp.sentences)
                out.append(
                    Finding(
                        code="length.reply",
                        start=s.start,
                        end=len(inp.reply.rstrip()),
                        detail=f"回复共 {whole} 字，超过上限 {cfg.reply_max} 字",
                        action=self.action,
                        correction=f"回复共 {whole} 字，整条回复不能超过 {cfg.reply_max} 字，请精简。",
                    )
                )
        return out


def _build(cfg: LengthConfig, _ctx: PolicyContext) -> LengthCheck:
    return LengthCheck(cfg)


LENGTH: CheckSpec[LengthConfig] = CheckSpec("length", LengthConfig, _build, "句长 / 回复长度")
