"""Why a request body is not a JSON object the guard can read: a stable code and a message that
says what is wrong and where (a line, a column, a byte), never what the body holds (a body can
hold a customer's name, phone or ID).

Both routes that take a body come here through the app's error handlers
(`guard.proxy.errors.install_error_handlers`): `/v1/guard/check` through FastAPI's own body
handling, `/v1/chat/completions` through `parse_chat_request`, which raises what FastAPI raises.
Each such answer is a 400 (contract §7); a JSON object whose fields are wrong stays a 422.

| code | the body |
|---|---|
| `empty_body` | is empty |
| `invalid_content_type` | is not declared JSON: no Content-Type, or not `application/json` (or `…+json`) |
| `invalid_encoding` | is not UTF-8 (e.g. GBK); a `charset` of the Content-Type other than UTF-8 is named |
| `invalid_json` | is not JSON (where the parser stopped), nests deeper than it reads, holds an integer of more digits than it reads, or (`/v1/chat/completions`) a number to relay that is NaN, Infinity or beyond a double (where: the field's path) |
| `body_not_object` | is JSON, but an array, a string, a number, a boolean or null |
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["BodyProblem", "NonFiniteNumber", "non_finite_at", "parse_failure", "safe_path", "validation_failure"]


@dataclass(frozen=True, slots=True)
class BodyProblem:
    """What is wrong with the body: `code` (stable) and `message` (for the caller)."""

    code: str
    message: str


_NOT_AN_OBJECT = frozenset({"model_attributes_type", "model_type", "dict_type"})
_TOKEN = r"[a-z0-9!#$&^_.+-]+"  # RFC 9110 token characters, in ASCII: nothing else is echoed
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}")
_CHARSET = re.compile(_TOKEN)
_UTF8 = frozenset({"utf-8", "utf8"})
_ECHO_MAX = 100
_SAFE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")  # a key named in a message: an identifier only


class NonFiniteNumber(ValueError):
    """A number of the body that JSON cannot carry to the upstream (NaN, Infinity, or beyond a
    double such as 1e999), at the path `where` (keys and indexes)."""

    def __init__(self, where: tuple[str | int, ...]) -> None:
        super().__init__("a number is not finite")
        self.where = where


def non_finite_at(value: Any, loc: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where a parsed JSON value holds a float that is NaN or infinite, else None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else loc
    if isinstance(value, dict):
        for key, item in value.items():
            found = non_finite_at(item, (*loc, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = non_finite_at(item, (*loc, i))
            if found is not None:
                return found
    return None


def safe_path(where: tuple[str | int, ...]) -> str:
    """A path in the body as a message may name it: indexes, and keys that are identifiers; any
    other key (it is the caller's text: it may hold a name or a phone) is `(key)`."""
    parts = [str(p) if isinstance(p, int) or _SAFE_KEY.fullmatch(p) else "(key)" for p in where]
    return ".".join(parts) or "(body)"


def validation_failure(
    errors: Sequence[Mapping[str, Any]], cause: BaseException | None, content_type: str | None
) -> BodyProblem | None:
    """The problem of a body refused as a whole (a `RequestValidationError` of one error at the
    body itself), else None: the errors are about its fields (422)."""
    if len(errors) != 1:
        return None
    error = errors[0]
    kind = error.get("type")
    if kind == "json_invalid":
        return _not_json(error, cause)
    if tuple(error.get("loc", ())) != ("body",):
        return None
    if kind == "missing":
        return BodyProblem("empty_body", "request body is empty: send a JSON object")
    if kind not in _NOT_AN_OBJECT:
        return None
    value = error.get("input")
    if isinstance(value, bytes | bytearray):  # left unparsed: its Content-Type is not JSON
        return BodyProblem(
            "invalid_content_type",
            f"request body must be sent as Content-Type: application/json (got {_named_type(content_type)})",
        )
    return BodyProblem("body_not_object", f"request body must be a JSON object; it is {_json_kind(value)}")


def parse_failure(cause: BaseException | None, content_type: str | None) -> BodyProblem | None:
    """The problem of a body the JSON parser failed on other than by its syntax (FastAPI's 400
    "There was an error parsing the body", raised from `cause`), else None."""
    if isinstance(cause, UnicodeDecodeError):
        return _not_utf8(cause, content_type)
    if isinstance(cause, RecursionError):
        return BodyProblem("invalid_json", "request body cannot be read: its JSON is nested too deeply")
    if isinstance(cause, NonFiniteNumber):
        return BodyProblem(
            "invalid_json",
            f"request body is not valid JSON: the number at {safe_path(cause.where)} is NaN, Infinity "
            "or beyond a double, which cannot be relayed",
        )
    if isinstance(cause, ValueError) and "integer string conversion" in str(cause):
        return BodyProblem(
            "invalid_json",
            f"request body cannot be read: an integer has more than {sys.get_int_max_str_digits()} digits",
        )
    return None


def _not_json(error: Mapping[str, Any], cause: BaseException | None) -> BodyProblem:
    if isinstance(cause, json.JSONDecodeError):
        reason, where = cause.msg, f"line {cause.lineno} column {cause.colno} (char {cause.pos})"
    else:
        loc = tuple(error.get("loc", ()))
        context = error.get("ctx") or {}
        reason = str(context.get("error", "")) or "syntax error"
        where = f"char {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else "unknown position"
    # The C parser's reasons are fixed phrases; the Python one appends the offending text after ": ".
    reason = reason.partition(": ")[0][:_ECHO_MAX]
    return BodyProblem("invalid_json", f"request body is not valid JSON: {reason}: {where}")


def _not_utf8(cause: UnicodeDecodeError, content_type: str | None) -> BodyProblem:
    # json.loads decodes as UTF-8 unless the first bytes look like UTF-16/32: then the offset
    # would be of that decoding, and is left out.
    at = f" (byte {cause.start})" if cause.encoding.lower().replace("_", "-") in _UTF8 else ""
    message = f"request body is not valid UTF-8{at}: send the JSON encoded as UTF-8"
    charset = _charset(content_type)
    if charset is not None and charset not in _UTF8:
        named = f"charset={charset}" if _CHARSET.fullmatch(charset) and len(charset) <= _ECHO_MAX else "a charset"
        message += f"; the Content-Type names {named}, which the guard does not read"
    return BodyProblem("invalid_encoding", message)


def _charset(content_type: str | None) -> str | None:
    """The `charset` parameter of a Content-Type, lower case and unquoted, else None."""
    for parameter in (content_type or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def _named_type(content_type: str | None) -> str:
    """The Content-Type's media type as the message names it: only when it is one."""
    if not content_type:
        return "no Content-Type"
    media = content_type.partition(";")[0].strip().lower()
    if _MEDIA_TYPE.fullmatch(media) and len(media) <= _ECHO_MAX:
        return f"Content-Type {media}"
    return "another type"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "not an object"
