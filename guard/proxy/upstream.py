"""The upstream model: one pooled `httpx.AsyncClient` to any OpenAI-compatible endpoint.

Connection errors (refused, connect timeout) are retried up to `upstream_retries` times: the
request never reached the model, so trying again is safe. Nothing else is retried here: a 5xx
or a read timeout may mean the model did work, and the guard's own regeneration loop decides
what happens next. Errors are raised as `UpstreamError(kind)`; the app maps `timeout` to 504
and everything else to 502. Streamed chunks are parsed from SSE; a malformed chunk (not an
object, `choices` not a list), an error event (`error` set or `object: error`, even with
`choices`) or a stream that ends without `data: [DONE]` raises, so the streaming guard fails
closed. A reply longer than `max_reply_chars` is `too_large` (the engine runs on the event loop,
and a multi-megabyte reply would stall every other request while it is checked): the service
counts the characters; here the raw bytes read are capped generously above that (JSON escapes
take up to 6 bytes a character, and every streamed token carries ~200 bytes of SSE framing), so
a huge answer is never buffered whole. `GET /models` gives the list's entries, each checked to be
an object with a model id (anything else is `malformed`).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterator
from typing import Any, Literal

import httpx

from guard.proxy import pool
from guard.proxy.settings import GuardSettings

__all__ = ["MODELS_MAX_BYTES", "Upstream", "UpstreamError", "UpstreamStream"]

MODELS_MAX_BYTES = 8 * 1024 * 1024
"""The most of a `GET /models` answer read: a gateway's list of hundreds of models with their
descriptions fits; an endless answer is `too_large`."""

Kind = Literal["timeout", "connect", "status", "malformed", "truncated", "protocol", "too_large"]


class UpstreamError(Exception):
    """The upstream call failed; `kind` says how (never the upstream's body: it may echo text)."""

    def __init__(self, kind: Kind, message: str, status: int | None = None, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after

    @property
    def http_status(self) -> int:
        return 504 if self.kind == "timeout" else 502


class UpstreamStream:
    """An open streamed upstream response: iterate `chunks()`, then `aclose()`."""

    def __init__(self, response: httpx.Response, max_bytes: int | None = None) -> None:
        self._response = response
        self._max_bytes = max_bytes

    async def _lines(self) -> AsyncIterator[str]:
        """The stream's lines, decoded strictly: bytes that are not UTF-8 are malformed, not
        silently replaced (the non-streamed path rejects them too)."""
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        buffer = ""
        seen = 0
        try:
            async for part in self._response.aiter_bytes():
                seen += len(part)
                if self._max_bytes is not None and seen > self._max_bytes:
                    raise UpstreamError("too_large", f"upstream stream longer than {self._max_bytes} bytes")
                buffer += decoder.decode(part)
                *lines, buffer = buffer.split("\n")
                for line in lines:
                    yield line.removesuffix("\r")
            buffer += decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise UpstreamError("malformed", "upstream stream is not valid UTF-8") from None
        if buffer:
            yield buffer.removesuffix("\r")

    async def chunks(self) -> AsyncIterator[dict[str, Any]]:
        """Parsed `data:` objects until `[DONE]`, each with `choices` a list or absent; raises
        `UpstreamError` on anything else, and on an error event (`error` set, or `object: error`)."""
        done = False
        try:
            async for line in self._lines():
                if not line or line.startswith(":"):
                    continue
                if not line.startswith("data:"):
                    continue  # event:, id:, retry: carry nothing the guard relays
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    break
                try:
                    obj = json.loads(data)
                except json.JSONDecodeError:
                    raise UpstreamError("malformed", "upstream sent a malformed stream chunk") from None
                if not isinstance(obj, dict):
                    raise UpstreamError("malformed", "upstream sent a stream chunk that is not an object")
                if obj.get("error") is not None or obj.get("object") == "error":
                    # An error event, whatever else it carries (choices, a cut-off delta).
                    raise UpstreamError("status", "upstream reported an error in the stream")
                choices = obj.get("choices")
                if choices is not None and not isinstance(choices, list):
                    raise UpstreamError("malformed", "upstream sent a stream chunk whose choices are not a list")
                yield obj
        except httpx.TimeoutException:
            raise UpstreamError("timeout", "upstream stream timed out") from None
        except httpx.HTTPError as exc:
            raise UpstreamError("truncated", f"upstream stream broke ({type(exc).__name__})") from None
        if not done:
            raise UpstreamError("truncated", "upstream stream ended without [DONE]")

    async def aclose(self) -> None:
        await self._response.aclose()


class Upstream:
    """The pooled client to the model endpoint, with model mapping and connect retries."""

    def __init__(self, settings: GuardSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        headers = {"accept": "application/json"}
        if settings.upstream_api_key is not None:
            headers["authorization"] = f"Bearer {settings.upstream_api_key.get_secret_value()}"
        timeout = httpx.Timeout(
            connect=settings.upstream_connect_timeout,
            read=settings.upstream_read_timeout,
            write=settings.upstream_read_timeout,
            pool=settings.upstream_connect_timeout,
        )
        limits = httpx.Limits(
            max_connections=settings.upstream_max_connections,
            max_keepalive_connections=settings.upstream_max_connections,
        )
        self.base_url = settings.upstream_base_url.rstrip("/") + "/"
        self.model_map = dict(settings.model_map)
        self.retries = settings.upstream_retries
        self.max_reply_chars = settings.max_reply_chars
        self.max_body_bytes = settings.max_reply_chars * 8 + 65_536
        self.max_stream_bytes = settings.max_reply_chars * 256 + 65_536
        self.client = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=timeout, limits=limits, transport=transport
        )
        if transport is None:
            pool.install(self.client)  # httpcore's pool, without a socket poll per connection per request

    def map_model(self, name: str) -> str:
        """The upstream model name for the name the caller used."""
        return self.model_map.get(name, name)

    async def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        attempt = 0
        while True:
            try:
                return await self.client.send(request, stream=stream)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt >= self.retries:
                    kind: Kind = "timeout" if isinstance(exc, httpx.ConnectTimeout) else "connect"
                    raise UpstreamError(kind, f"cannot reach the upstream ({type(exc).__name__})") from None
                attempt += 1
            except httpx.TimeoutException:
                raise UpstreamError("timeout", "upstream timed out") from None
            except httpx.HTTPError as exc:
                raise UpstreamError("protocol", f"upstream failed ({type(exc).__name__})") from None

    @staticmethod
    def _check_status(response: httpx.Response) -> None:
        if response.status_code >= 400:
            raise UpstreamError(
                "status",
                f"upstream answered HTTP {response.status_code}",
                status=response.status_code,
                retry_after=response.headers.get("retry-after"),
            )

    @staticmethod
    async def _read_limited(response: httpx.Response, limit: int) -> bytes:
        """The whole body, or `too_large` as soon as it passes `limit` (never buffered past it)."""
        try:
            declared = int(response.headers.get("content-length", "0"))
        except ValueError:
            declared = 0
        if declared > limit:
            raise UpstreamError("too_large", f"upstream answer larger than {limit} bytes")
        parts: list[bytes] = []
        size = 0
        try:
            async for part in response.aiter_bytes():
                size += len(part)
                if size > limit:
                    raise UpstreamError("too_large", f"upstream answer larger than {limit} bytes")
                parts.append(part)
        except httpx.TimeoutException:
            raise UpstreamError("timeout", "upstream timed out") from None
        except httpx.HTTPError as exc:
            raise UpstreamError("protocol", f"upstream failed ({type(exc).__name__})") from None
        return b"".join(parts)

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """A non-streamed completion as a dict; raises `UpstreamError`."""
        request = self.client.build_request("POST", "chat/completions", json=body)
        response = await self._send(request, stream=True)
        try:
            self._check_status(response)
            content = await self._read_limited(response, self.max_body_bytes)
        finally:
            await response.aclose()
        try:
            data = json.loads(content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise UpstreamError("malformed", "upstream answered with malformed JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
            raise UpstreamError("malformed", "upstream answer has no choices")
        return data

    async def open_stream(self, body: dict[str, Any]) -> UpstreamStream:
        """Start a streamed completion; the status is checked before this returns."""
        request = self.client.build_request("POST", "chat/completions", json=body)
        response = await self._send(request, stream=True)
        if response.status_code >= 400:
            await response.aclose()
            self._check_status(response)
        return UpstreamStream(response, self.max_stream_bytes)

    async def models(self) -> list[dict[str, Any]]:
        """The entries of `GET /models` (`data`), each an object with a non-empty string `id`, as
        the upstream gave them; raises `UpstreamError` (`malformed` for any other answer). The
        answer is read up to `MODELS_MAX_BYTES`."""
        response = await self._send(self.client.build_request("GET", "models"), stream=True)
        try:
            self._check_status(response)
            content = await self._read_limited(response, MODELS_MAX_BYTES)
        finally:
            await response.aclose()
        try:
            data = json.loads(content)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            raise UpstreamError("malformed", "upstream answered with malformed JSON") from None
        entries = data.get("data") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise UpstreamError("malformed", "upstream model list has no data list")
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
                raise UpstreamError("malformed", "upstream model list has an entry without a model id")
        return entries

    async def aclose(self) -> None:
        await self.client.aclose()
