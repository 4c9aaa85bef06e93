"""The OpenAI Chat Completions shapes the guard reads and writes, plus the `guard` extension.

Requests keep every OpenAI parameter the guard does not interpret (`extra="allow"`) and relay it
upstream unchanged; `guard` is taken out before relaying. Responses are built as plain dicts for
speed; the models below document them in the OpenAPI schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.exceptions import HTTPException

from guard.proxy.body_errors import NonFiniteNumber, non_finite_at, safe_path
from guard.proxy.errors import GuardHTTPError
from guard.types import CustomerRecord
from guard.validation import describe_errors

__all__ = [
    "ChatCompletionRequest",
    "ChatCompletionResponse",
    "ChatMessage",
    "CheckRequest",
    "GuardInfo",
    "GuardParams",
    "ModelCard",
    "ModelList",
    "model_list",
    "parse_chat_request",
]


class ChatMessage(BaseModel):
    """One message; extra OpenAI fields (name, tool_call_id, …) pass through."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[Any] | None = None


class GuardParams(BaseModel):
    """`guard` in the request body (OpenAI SDK `extra_body`): whose record, which policy."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str | None = Field(default=None, description="look the record up in the CRM source")
    # Validated with the request, in one step (a record validated separately afterwards cost
    # ≈ 10 µs a call under load); a record at fault is still answered as `invalid_record`.
    record: CustomerRecord | None = Field(default=None, description="the customer record inline (contract §1)")
    policy: str | None = Field(default=None, description="policy name; default: by segment, else the default policy")


class ChatCompletionRequest(BaseModel):
    """`POST /v1/chat/completions` body: the OpenAI request plus `guard`."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    n: int | None = Field(default=None, ge=1, le=1, description="the guard answers one choice")
    guard: GuardParams

    def upstream_body(self, model: str) -> dict[str, Any]:
        """The body to relay: everything but `guard`, with the upstream model name."""
        body = self.model_dump(exclude={"guard"}, exclude_none=True)
        body["model"] = model
        return body


class GuardInfo(BaseModel):
    """The `guard` object on every guarded response (contract §7)."""

    decision: Literal["allow", "revise", "block"]
    violations: list[str]
    policy: str
    policy_version: str
    trace_id: str
    regenerations: int
    error: str | None = Field(default=None, description="set when the upstream failed and the fallback was released")


class _Message(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None


class _Choice(BaseModel):
    index: int
    message: _Message
    finish_reason: str | None


class ChatCompletionResponse(BaseModel):
    """A ChatCompletion whose content is the released text, plus `guard`."""

    model_config = ConfigDict(extra="allow")

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[_Choice]
    usage: dict[str, Any] | None = None
    guard: GuardInfo


class ModelCard(BaseModel):
    """A model a caller can name in `model`; the upstream's other fields pass through."""

    model_config = ConfigDict(extra="allow")

    id: str
    object: str = "model"
    created: int | None = None
    owned_by: str | None = None


class ModelList(BaseModel):
    """`GET /v1/models`: the guard's aliases (`model_map`), then the upstream's models they do not
    hide (a name that is not an alias passes to the upstream unchanged)."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


_ALIAS_OF_AN_UNLISTED_MODEL = {"object": "model", "created": 0, "owned_by": "guard"}


def model_list(upstream: list[dict[str, Any]], model_map: Mapping[str, str]) -> dict[str, Any]:
    """The model list a caller sees (`ModelList`), from the upstream's entries (each with a
    string `id`) and the guard's `model_map` (alias → upstream model).

    Each alias comes first, in the map's order, as the card of the model it maps to (the
    upstream's, or the guard's own when the upstream does not list it). The upstream's models
    follow in their order, but for those an alias of the same name hides: a caller naming it
    reaches the alias's model."""
    if not model_map:
        return {"object": "list", "data": upstream}
    cards = {entry["id"]: entry for entry in upstream}
    aliases = [_alias_card(alias, cards.get(target, _ALIAS_OF_AN_UNLISTED_MODEL)) for alias, target in model_map.items()]
    return {"object": "list", "data": aliases + [entry for entry in upstream if entry["id"] not in model_map]}


def _alias_card(alias: str, card: Mapping[str, Any]) -> dict[str, Any]:
    """`card` under the name `alias` (`id` first, as in every card)."""
    return {"id": alias} | {key: value for key, value in card.items() if key != "id"}


_SURROGATE = re.compile(r"[\ud800-\udfff]")
_LONE_SURROGATE = "holds a \\u escape of a lone UTF-16 surrogate (\\ud800-\\udfff), which is no character"


def lone_surrogate_at(value: Any, loc: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where a string of a parsed JSON body holds a lone UTF-16 surrogate (`json.loads` lets a
    `\\ud800` escape through; pydantic's own parser refuses it), else None. Such a string cannot
    be encoded as UTF-8: not for the model, the checks' output or the ledger. A key on the path
    that is not an identifier is given as `(key)`: the path is named in the error message."""
    if isinstance(value, str):
        return loc if _SURROGATE.search(value) is not None else None
    if isinstance(value, dict):
        for key, item in value.items():
            # A key is the caller's text (it may hold a name or a phone): named only if an identifier.
            shown = key if safe_path((key,)) == key else "(key)"
            found = lone_surrogate_at(key, (*loc, "(key)")) or lone_surrogate_at(item, (*loc, shown))
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = lone_surrogate_at(item, (*loc, i))
            if found is not None:
                return found
    return None


class CheckRequest(BaseModel):
    """`POST /v1/guard/check` body: one batch line without the id (contract §6)."""

    model_config = ConfigDict(extra="allow")

    record: dict[str, Any]
    reply: str
    policy: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        where = lone_surrogate_at(data)
        if where is not None:
            raise ValueError(f"{'.'.join(map(str, where))} {_LONE_SURROGATE}")
        return data


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def parse_chat_request(raw: bytes, content_type: str | None) -> ChatCompletionRequest:
    """The request body, parsed and validated in one step by pydantic (the hot path).

    A body that fails is read again the way FastAPI reads a body parameter, and fails with what
    FastAPI raises, so that the app's error handlers answer both routes alike: a missing body, a
    JSON syntax error at a position, bytes JSON cannot decode or nested too deeply, a body that is
    not declared JSON (FastAPI's strict content type) or not an object (400s,
    `guard.proxy.body_errors`), the fields at fault in Python-mode wording (422). When only fields
    of the inline record are at fault, the answer is `GuardHTTPError` 422 `invalid_record` instead.
    A number to relay that is NaN, Infinity or beyond a double (1e999) is a 400 `invalid_json`.
    """
    req = _parse_chat_request(raw, content_type)
    # Only the fields relayed as they came can hold a float (the record's numbers are checked
    # finite): JSON has no NaN or Infinity, so the upstream body could not be written.
    where = non_finite_at(req.model_extra)
    for i, m in enumerate(req.messages):
        if where is not None:
            break
        found = non_finite_at(m.model_extra) or non_finite_at(m.content, ("content",))
        where = ("messages", i, *found) if found is not None else None
    if where is not None:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from NonFiniteNumber(where)
    return req


def _parse_chat_request(raw: bytes, content_type: str | None) -> ChatCompletionRequest:
    declared_json = content_type is not None and _is_json(content_type)
    if declared_json:
        try:
            return ChatCompletionRequest.model_validate_json(raw)
        except ValidationError:
            pass
    if not raw:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    data: Any = raw
    if declared_json:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:  # the error handler reads the position from `exc`
            raise RequestValidationError(
                [{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
                  "input": {}, "ctx": {"error": exc.msg}}]
            ) from exc
        except (ValueError, RecursionError) as exc:  # not UTF-8 (nor UTF-16/32); nested too deeply
            raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc
        where = lone_surrogate_at(data)
        if where is not None:  # pydantic's parser refused it; json.loads does not
            raise RequestValidationError(
                [{"type": "value_error", "loc": ("body", *where), "msg": f"Value error, {_LONE_SURROGATE}",
                  "input": None, "ctx": {"error": _LONE_SURROGATE}}]
            )
    try:
        # What passes here failed only pydantic's JSON parser (JSON in UTF-16, which json.loads reads).
        return ChatCompletionRequest.model_validate(data, from_attributes=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if all(len(e["loc"]) > 2 and e["loc"][:2] == _RECORD for e in errors):
            # Only the inline record is at fault: 422 `invalid_record`, its fields named as
            # `guard.record.<field>` (the wording of a record refused anywhere else).
            raise GuardHTTPError(422, describe_errors(errors, "guard.record", strip=2), "invalid_record") from None
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


_RECORD = ("guard", "record")
