"""Turn pydantic validation errors into messages that name the field and never echo its value.

Echoing the offending value would put raw PII (a phone number, a name) into an error line that
ends up in logs; the field path and the reason are enough to fix the input.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError
from pydantic_core import ErrorDetails

__all__ = ["describe_errors", "describe_validation_error"]


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """`field.path: reason; …` for every error of `exc`, each path after `prefix`."""
    return describe_errors(exc.errors(include_url=False, include_input=False, include_context=False), prefix)


def describe_errors(errors: Iterable[ErrorDetails], prefix: str = "", *, strip: int = 0) -> str:
    """`describe_validation_error` for pydantic's error list; `strip` drops that many leading path
    parts of each error (the path of a nested model, which `prefix` then names)."""
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err["loc"][strip:])
        where = f"{prefix}.{loc}" if prefix and loc else prefix or loc or "(root)"
        msg = "required field is missing" if err["type"] == "missing" else err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)
