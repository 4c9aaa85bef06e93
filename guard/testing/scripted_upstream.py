"""A small, real OpenAI-compatible HTTP server that replays scripted replies.

For tests, the demo and fault injection: it listens on 127.0.0.1 (a free port by default) and
speaks HTTP/1.1 with keep-alive, streamed (SSE, chunked) and not. What it answers is data:

    scenarios = {"wrong_name": [{"reply": "李先生您好。"}, {"reply": "张先生您好。"}]}

A request picks its scenario by a `[[name]]` marker in any message (else by its `model` name,
else `default`). The n-th step answers the n-th attempt: n counts the assistant messages after
the marked message, so a guard's regeneration (reply + correction appended) gets the next step,
and concurrent conversations never interfere. A step can also inject a fault: `status` (any
HTTP status with an error body), `delay` / `chunk_delay` (slow), `hang` (never answers: read
timeout), `disconnect` (closes without answering), `malformed` (bad JSON body or chunk),
`truncate` (the body or stream stops half way), `error_chunk` (an error object mid-stream),
`invalid_utf8` (bytes that are not UTF-8 inside the reply); `headers` adds response headers
(e.g. `{"retry-after": "7"}` with `status: 429`); `tool_calls` adds tool calls to the answer (in
the message; streamed, one delta after the text), e.g. with `finish_reason: tool_calls`.
For answers no reply string makes (odd metadata, surrogate escapes, error events): `body` is the
non-streamed answer's JSON object as is, `events` the streamed chunk objects sent instead of the
reply's deltas (between the role chunk and the finish chunk). Both go out ASCII-escaped, so a lone
surrogate in a string is sent as its JSON escape (`\\ud83d`).

    with ScriptedUpstream(scenarios) as up:      # starts a thread with its own event loop
        client = OpenAI(base_url=up.base_url, api_key="x")

`python -m guard.testing.scripted_upstream --scenarios FILE.yaml --port 8000` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml

__all__ = ["Scenario", "ScriptedUpstream", "Step", "load_scenarios"]

Fault = Literal["none", "hang", "disconnect", "malformed", "truncate", "error_chunk", "invalid_utf8"]
_BAD_UTF8 = b"\xff\xfe\xc3("  # never valid UTF-8
_MARKER = re.compile(r"\[\[([A-Za-z0-9_.\-]+)\]\]")


@dataclass(frozen=True)
class Step:
    """One scripted answer."""

    reply: str = ""
    finish_reason: str = "stop"
    status: int = 200
    delay: float = 0.0  # seconds before the response starts
    chunk_delay: float = 0.0  # seconds between streamed content chunks
    chunks: tuple[str, ...] | None = None  # explicit stream pieces; default: `chunk_chars` each
    chunk_chars: int = 2
    fault: Fault = "none"
    headers: Mapping[str, str] | None = None  # extra response headers
    tool_calls: tuple[Mapping[str, Any], ...] | None = None  # in the message (streamed: one delta after the text)
    body: Mapping[str, Any] | None = None  # the non-streamed answer's JSON object, as is
    events: tuple[Mapping[str, Any], ...] | None = None  # streamed: these chunks instead of the reply's

    @classmethod
    def parse(cls, raw: Any) -> Step:
        if isinstance(raw, str):
            return cls(reply=raw)
        if not isinstance(raw, Mapping):
            raise ValueError("a step is a reply string or a mapping of Step fields")
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown step fields: {sorted(unknown)}")
        data = dict(raw)
        for name in ("chunks", "tool_calls", "events"):
            if data.get(name) is not None:
                data[name] = tuple(data[name])
        return cls(**data)

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        n = max(1, self.chunk_chars)
        return [self.reply[i : i + n] for i in range(0, len(self.reply), n)]


@dataclass(frozen=True)
class Scenario:
    """A named list of steps; attempt n gets step n (the last step repeats)."""

    name: str
    steps: tuple[Step, ...]

    def step(self, attempt: int) -> Step:
        return self.steps[min(attempt, len(self.steps) - 1)]


def _scenario(name: str, raw: Any) -> Scenario:
    if isinstance(raw, Scenario):
        return raw
    items = raw if isinstance(raw, list | tuple) else [raw]
    if not items:
        raise ValueError(f"scenario {name}: needs at least one step")
    return Scenario(name, tuple(Step.parse(x) for x in items))


def load_scenarios(path: str | Path) -> dict[str, Scenario]:
    """Scenarios from a YAML or JSON file: a mapping of name → step or list of steps."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of scenario name to steps")
    return {str(k): _scenario(str(k), v) for k, v in data.items()}


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ScriptedUpstream:
    """The server; see the module docstring. `requests` keeps every parsed chat request body."""

    scenarios: Mapping[str, Any] = field(default_factory=dict)
    default: Any = "您好，我是您的专属客服。"
    record_send_times: bool = False

    def __post_init__(self) -> None:
        table = {name: _scenario(name, raw) for name, raw in self.scenarios.items()}
        table.setdefault("default", _scenario("default", self.default))
        self.table: dict[str, Scenario] = table
        self.requests: list[dict[str, Any]] = []
        self.send_times: list[tuple[float, str]] = []  # (perf_counter, content) per streamed chunk
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.host = "127.0.0.1"

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a background thread; returns the base URL (…/v1)."""
        ready = threading.Event()
        errors: list[BaseException] = []
        self.host = host

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(asyncio.start_server(self._serve, host, port))
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:  # pragma: no cover - surfaced to the caller
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="scripted-upstream", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self.base_url

    def stop(self) -> None:
        """Close the server and every open connection; join the thread."""
        loop = self._loop
        if loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        self._thread.join(10)
        self._loop = None

    def __enter__(self) -> ScriptedUpstream:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def serve_forever(self, host: str, port: int) -> None:
        """Serve on the current loop (the command-line entry point)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        self.host, self.port = host, self._server.sockets[0].getsockname()[1]
        async with self._server:
            await self._server.serve_forever()

    # -- HTTP -------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                request = await self._read(reader)
                if request is None:
                    break
                keep = await self._dispatch(request, writer)
                if not keep or request.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> _Request | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0") or 0)
        body = await reader.readexactly(length) if length else b""
        return _Request(method, path, headers, body)

    @staticmethod
    async def _respond(
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        ctype: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (
            f"HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {len(body)}\r\n"
            f"connection: keep-alive\r\n{extra}\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()

    async def _dispatch(self, req: _Request, writer: asyncio.StreamWriter) -> bool:
        path = req.path.split("?", 1)[0].rstrip("/")
        if req.method == "GET" and path.endswith("/models"):
            data = [{"id": name, "object": "model", "owned_by": "scripted"} for name in sorted(self.table)]
            await self._respond(writer, 200, json.dumps({"object": "list", "data": data}).encode())
            return True
        if req.method != "POST" or not path.endswith("/chat/completions"):
            await self._respond(writer, 404, b'{"error": {"message": "not found", "type": "not_found"}}')
            return True
        try:
            body = json.loads(req.body)
        except json.JSONDecodeError:
            await self._respond(writer, 400, b'{"error": {"message": "bad json", "type": "invalid_request_error"}}')
            return True
        self.requests.append(body)
        scenario, attempt = self._select(body)
        step = scenario.step(attempt)
        if step.delay:
            await asyncio.sleep(step.delay)
        if step.fault == "hang":
            await asyncio.sleep(3600)
            return False
        if step.fault == "disconnect":
            return False
        if step.status >= 400:
            err = {"error": {"message": f"scripted {step.status}", "type": "server_error", "code": None}}
            await self._respond(writer, step.status, json.dumps(err).encode(), headers=step.headers)
            return True
        model = str(body.get("model", "scripted"))
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return await self._stream(writer, step, model, include_usage)
        return await self._complete(writer, step, model)

    def _select(self, body: dict[str, Any]) -> tuple[Scenario, int]:
        messages = body.get("messages") or []
        marked = -1
        name = None
        for i, m in enumerate(messages):
            content = m.get("content") if isinstance(m, dict) else None
            if isinstance(content, str):
                found = _MARKER.search(content)
                if found and found.group(1) in self.table:
                    marked, name = i, found.group(1)
        if name is None:
            model = body.get("model")
            name = model if isinstance(model, str) and model in self.table else "default"
        attempt = sum(1 for m in messages[marked + 1 :] if isinstance(m, dict) and m.get("role") == "assistant")
        return self.table[name], attempt

    @staticmethod
    def _usage(step: Step) -> dict[str, int]:
        completion = len(step.reply)
        return {"prompt_tokens": 10, "completion_tokens": completion, "total_tokens": 10 + completion}

    @staticmethod
    def _message(step: Step) -> dict[str, Any]:
        if step.tool_calls is None:
            return {"role": "assistant", "content": step.reply}
        return {"role": "assistant", "content": step.reply or None, "tool_calls": list(step.tool_calls)}

    async def _complete(self, writer: asyncio.StreamWriter, step: Step, model: str) -> bool:
        data = {
            "id": f"chatcmpl-scripted-{time.monotonic_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": self._message(step), "finish_reason": step.finish_reason}
            ],
            "usage": self._usage(step),
        }
        body = json.dumps(data, ensure_ascii=False).encode() if step.body is None else json.dumps(step.body).encode()
        if step.fault == "malformed":
            await self._respond(writer, 200, body[: len(body) // 2])
            return True
        if step.fault == "invalid_utf8":
            cut = body.index(b'"content"') + len(b'"content": "')
            body = body[:cut] + _BAD_UTF8 + body[cut:]
        if step.fault == "truncate":
            head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
            writer.write(head.encode() + body[: len(body) // 2])
            await writer.drain()
            return False
        await self._respond(writer, 200, body, headers=step.headers)
        return True

    async def _stream(self, writer: asyncio.StreamWriter, step: Step, model: str, include_usage: bool) -> bool:
        head = (
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
            "cache-control: no-cache\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in (step.headers or {}).items())
            + "\r\n"
        )
        writer.write(head.encode())
        base = {"id": f"chatcmpl-scripted-{time.monotonic_ns()}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model}

        async def event(obj: Any) -> None:
            payload = obj if isinstance(obj, bytes) else b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n"
            writer.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
            await writer.drain()

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        await event(chunk({"role": "assistant", "content": ""}))
        for obj in step.events or ():
            await event(b"data: " + json.dumps(obj).encode() + b"\n\n")
        pieces = step.pieces() if step.events is None else []
        half = max(1, len(pieces) // 2)
        for i, piece in enumerate(pieces):
            if step.chunk_delay and i:
                await asyncio.sleep(step.chunk_delay)
            if i == half and step.fault == "truncate":
                return False  # close mid-stream, without the terminating chunk
            if i == half and step.fault == "malformed":
                await event(b'data: {"choices": [{"delta": {"content": "\n\n')
                continue
            if i == half and step.fault == "error_chunk":
                await event({"error": {"message": "scripted stream error", "type": "server_error"}})
                continue
            if i == half and step.fault == "invalid_utf8":
                raw = json.dumps(chunk({"content": piece}), ensure_ascii=False).encode()
                cut = raw.index(b'"content": "') + len(b'"content": "')
                await event(b"data: " + raw[:cut] + _BAD_UTF8 + raw[cut:] + b"\n\n")
                continue
            if self.record_send_times:
                self.send_times.append((time.perf_counter(), piece))
            await event(chunk({"content": piece}))
        if step.tool_calls is not None:
            await event(chunk({"tool_calls": [{"index": i, **call} for i, call in enumerate(step.tool_calls)]}))
        await event(chunk({}, step.finish_reason))
        if include_usage:
            await event({**base, "choices": [], "usage": self._usage(step)})
        await event(b"data: [DONE]\n\n")
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m guard.testing.scripted_upstream")
    parser.add_argument("--scenarios", help="YAML/JSON file: scenario name -> steps")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    scenarios = load_scenarios(args.scenarios) if args.scenarios else {}
    server = ScriptedUpstream(scenarios)
    print(f"scripted upstream on http://{args.host}:{args.port}/v1 ({len(server.table)} scenarios)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve_forever(args.host, args.port))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
