"""The `pii` check: find personal identifiers in a reply and mask them before release.

A voice or chat reply must never read out an identifier (《个人信息保护法》 art. 28 treats ID,
financial-account and contact data as sensitive personal information), nor carry another person's
data. Every phone number is masked, the customer's own too. The customer's own name, and names
that are a near miss of it or surname + honorific, are the facts check's business (`fact.name`)
and never reported here, so the two checks never fight over one span.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from guard.checks.base import CheckConfig, CheckInput, ConfigError, PolicyContext
from guard.checks.pii.analyzer import PiiAnalyzer
from guard.checks.pii.masking import mask
from guard.checks.pii.recognizers import RECOGNIZERS
from guard.checks.pii.recognizers.lac import LacTagger, ModelFilesError, shared_tagger
from guard.text.pinyin import lazy_pinyin
from guard.types import Action, Finding

__all__ = ["PiiCheck", "PiiConfig", "build_pii_check"]

PiiKind = Literal["phone", "id_card", "bank_card", "email", "person", "address"]
PiiAction = Literal["warn", "mask", "regenerate", "block"]

_ALL_KINDS: tuple[PiiKind, ...] = ("phone", "id_card", "bank_card", "email", "person", "address")
_LABELS = {cls.ENTITY: cls.LABEL for cls in RECOGNIZERS}
_ACTION_WORDS = {"warn": "仅记录", "mask": "已遮盖", "regenerate": "需重写", "block": "已拦截"}


class PiiConfig(CheckConfig):
    """个人信息遮盖：手机号、座机、身份证号、银行卡号、邮箱、他人姓名、详细地址。"""

    entities: tuple[PiiKind, ...] = Field(default=_ALL_KINDS, min_length=1, description="要检查的信息类型")
    action: PiiAction = Field(default="mask", description="发现后的处理：warn / mask / regenerate / block")
    actions: dict[PiiKind, PiiAction] = Field(default_factory=dict, description="按类型单独指定处理动作")
    style: Literal["partial", "placeholder"] = Field(
        default="partial",
        description="遮盖样式：partial 部分遮盖（138****5678）；placeholder 占位符（[手机号]）",
    )
    min_score: float = Field(default=0.5, ge=0, le=1, description="识别置信度下限")
    person_model: Literal["rules", "lac"] = Field(
        default="rules",
        description="他人姓名的识别方式：rules 规则（快）；lac 规则加训练好的词法模型（多找出约两成姓名，每条回复多约 2–3 毫秒）",
    )
    person_model_threshold: float = Field(
        default=0.93, ge=0.5, le=1, description="lac 模型认定为姓名的概率下限（0.5–1）"
    )


def _is_customer_name(candidate: str, customer: str) -> bool:
    """The customer's name, or a near miss of it (one character off, or the same pinyin)."""
    if not customer:
        return False
    if candidate.startswith(customer) or customer.startswith(candidate):
        return True
    if len(candidate) != len(customer):
        return False
    if candidate[0] == customer[0] and sum(a != b for a, b in zip(candidate, customer, strict=True)) <= 1:
        return True
    return bool(lazy_pinyin(candidate) == lazy_pinyin(customer))


class PiiCheck:
    """Masks identifiers and other people's names and addresses (codes `pii.*`)."""

    name: ClassVar[str] = "pii"

    def __init__(self, config: PiiConfig, person_model: LacTagger | None = None) -> None:
        self.config = config
        kinds = set(config.entities)
        entities = [cls.ENTITY for cls in RECOGNIZERS if cls.CODE.removeprefix("pii.") in kinds]
        self.analyzer = PiiAnalyzer(entities, person_model, config.person_model_threshold)
        self._actions: dict[str, Action] = {
            f"pii.{kind}": Action(config.actions.get(kind, config.action)) for kind in _ALL_KINDS
        }

    def run(self, inp: CheckInput) -> list[Finding]:
        out: list[Finding] = []
        customer = inp.record.name
        for span in self.analyzer.analyze(inp.reply):
            if span.score < self.config.min_score:
                continue
            value = inp.reply[span.start : span.end]
            if span.entity == "CN_PERSON" and _is_customer_name(value, customer):
                continue
            action = self._actions[span.code]
            masked = mask(span.entity, span.value or value, self.config.style)
            label = _LABELS[span.entity]
            out.append(
                Finding(
                    code=span.code,
                    start=span.start,
                    end=span.end,
                    detail=f"回复含{label}，{_ACTION_WORDS[action.value]}",
                    action=action,
                    replacement=masked,
                    correction=f"回复里不能出现{label}，请删去后重写。",
                    evidence=masked,
                )
            )
        return out


def build_pii_check(cfg: PiiConfig, _ctx: PolicyContext) -> PiiCheck:
    """Build the check once at policy load (recognizers, prefilter and jieba's table)."""
    if len(set(cfg.entities)) != len(cfg.entities):
        raise ConfigError("entities lists a type twice", ("entities",))
    unknown = set(cfg.actions) - set(cfg.entities)
    if unknown:
        raise ConfigError(f"actions names types not in entities: {sorted(unknown)}", ("actions",))
    if cfg.person_model == "rules":
        return PiiCheck(cfg)
    if "person" not in cfg.entities:
        raise ConfigError("person_model: lac needs person in entities", ("person_model",))
    try:
        model = shared_tagger()
    except (ModelFilesError, OSError) as exc:
        raise ConfigError(
            f"person_model: lac cannot load jieba's LAC model: {exc}", ("person_model",)
        ) from exc
    return PiiCheck(cfg, model)
