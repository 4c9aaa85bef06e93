"""JSON out of the proxy: responses and stream events, compact UTF-8, one encoder for both.

orjson writes what `json.dumps(obj, ensure_ascii=False, separators=(",", ":"))` writes for the
objects the proxy sends (dicts, lists, strings, ints and finite floats), 10–30× faster: a
ChatCompletion of a 68-character reply took ≈ 9 µs through `json.dumps` and ≈ 0.3 µs here
(docs/benchmarks.md, "Proxy", eleventh round). What orjson refuses (an integer beyond 64 bits,
a key that is not a string — an upstream's `usage` may carry anything) goes through `json.dumps`,
so every object `json.dumps` accepts is still sent. One difference remains: a NaN or infinite
float, which no JSON parser reads anyway, is written `null` instead of `NaN`.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["json_bytes"]


def json_bytes(obj: Any) -> bytes:
    """`obj` as compact UTF-8 JSON (no ASCII escaping of Chinese text)."""
    try:
        return orjson.dumps(obj)
    except TypeError:  # orjson.JSONEncodeError: beyond what orjson writes; json.dumps decides
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
