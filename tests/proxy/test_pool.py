"""The upstream connection pool (`guard.proxy.pool`): real sockets on 127.0.0.1, and the
assignment pass alone on made-up connections (hypothesis)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpcore
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.proxy import pool
from guard.proxy.settings import GuardSettings
from guard.proxy.upstream import Upstream

OK = json.dumps(
    {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "好。"}, "finish_reason": "stop"}]}
).encode()


@dataclass
class _Server:
    """A keep-alive HTTP/1.1 server that counts its connections; it may close idle ones itself."""

    close_idle_after: float | None = None
    delay: float = 0.0
    accepted: int = 0
    open_now: int = 0
    most_open: int = 0
    port: int = 0
    _server: asyncio.AbstractServer | None = field(default=None, repr=False)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.close_idle_after)
                except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                    return  # idle too long (we close it), or the client went away
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: keep-alive\r\n"
                    + f"content-length: {len(OK)}\r\n\r\n".encode()
                    + OK
                )
                await writer.drain()
        finally:
            self.open_now -= 1
            writer.close()

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


async def _server(**kw: float) -> _Server:
    server = _Server(**kw)
    await server.start()
    return server


@pytest.fixture
async def server() -> AsyncIterator[_Server]:
    s = await _server()
    yield s
    await s.stop()


def _upstream(url: str, **kw: object) -> Upstream:
    return Upstream(GuardSettings(upstream_base_url=url, crm_source="none", **kw))  # type: ignore[arg-type]


def _client(url: str, *, ours: bool, **limits: float | None) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=url + "/", limits=httpx.Limits(**limits))  # type: ignore[arg-type]
    if ours:
        assert pool.install(client)
    return client


def _pool_of(client: httpx.AsyncClient) -> httpcore.AsyncConnectionPool:
    p = client._transport._pool  # type: ignore[attr-defined]
    assert isinstance(p, httpcore.AsyncConnectionPool)
    return p


async def test_upstream_uses_the_pool_and_an_injected_transport_is_left_alone(server: _Server) -> None:
    up = _upstream(server.url)
    assert type(_pool_of(up.client)) is pool.UpstreamPool
    mocked = Upstream(
        GuardSettings(upstream_base_url=server.url, crm_source="none"),
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=OK)),
    )
    assert isinstance(mocked.client._transport, httpx.MockTransport)  # type: ignore[attr-defined]
    assert (await up.chat({"model": "m"}))["id"] == "x"
    await up.client.aclose()
    await mocked.client.aclose()


def test_install_refuses_a_pool_it_does_not_know(caplog: pytest.LogCaptureFixture) -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    with caplog.at_level(logging.WARNING, logger="guard.proxy.pool"):
        assert pool.install(client) is False
    assert "left as httpx made it" in caplog.text


async def test_64_concurrent_requests_then_64_more_reuse_the_connections(server: _Server) -> None:
    server.delay = 0.02  # every request is in flight at once
    up = _upstream(server.url)
    for _ in range(2):
        answers = await asyncio.gather(*(up.chat({"model": "m"}) for _ in range(64)))
        assert [a["id"] for a in answers] == ["x"] * 64
    assert server.most_open == 64
    assert server.accepted == 64  # the second burst opened nothing new
    await up.client.aclose()


@pytest.mark.parametrize("ours", [True, False], ids=["guard-pool", "httpcore-pool"])
async def test_a_connection_the_server_closed_is_not_reused(ours: bool) -> None:
    server = await _server(close_idle_after=0.05)
    client = _client(server.url, ours=ours)
    try:
        assert (await client.post("chat/completions", json={})).status_code == 200
        await asyncio.sleep(0.3)  # the server has closed the idle connection by now
        assert server.open_now == 0
        assert (await client.post("chat/completions", json={})).status_code == 200
        assert server.accepted == 2
        assert len(_pool_of(client).connections) == 1
    finally:
        await client.aclose()
        await server.stop()


@pytest.mark.parametrize("ours", [True, False], ids=["guard-pool", "httpcore-pool"])
async def test_keep_alive_expiry_closes_idle_connections(ours: bool, server: _Server) -> None:
    client = _client(server.url, ours=ours, keepalive_expiry=0.1)
    try:
        assert (await client.post("chat/completions", json={})).status_code == 200
        await asyncio.sleep(0.3)
        assert (await client.post("chat/completions", json={})).status_code == 200
        assert server.accepted == 2  # the expired connection was not used again
        await asyncio.sleep(0.05)
        assert server.open_now == 1  # and it was closed
    finally:
        await client.aclose()


async def test_max_connections_is_respected(server: _Server) -> None:
    server.delay = 0.01
    client = _client(server.url, ours=True, max_connections=4, max_keepalive_connections=4)
    try:
        codes = await asyncio.gather(*(client.post("chat/completions", json={}) for _ in range(32)))
        assert [r.status_code for r in codes] == [200] * 32
        assert server.most_open == 4 and server.accepted == 4
    finally:
        await client.aclose()


async def test_idle_connections_nobody_takes_are_swept(server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "SWEEP_INTERVAL", 0.0)
    server.delay = 0.02
    client = _client(server.url, ours=True, keepalive_expiry=0.1)
    try:
        await asyncio.gather(*(client.post("chat/completions", json={}) for _ in range(8)))
        assert server.open_now == 8
        await asyncio.sleep(0.3)
        # One request takes one expired connection away (checked as it is handed out) and the
        # sweep closes the seven others.
        assert (await client.post("chat/completions", json={})).status_code == 200
        await asyncio.sleep(0.05)
        assert server.open_now == 1
        assert len(_pool_of(client).connections) == 1
    finally:
        await client.aclose()


# -- the assignment pass alone, on made-up connections -----------------------------------------


class _Conn:
    """A stand-in for an HTTP/1.1 connection in one of its states."""

    def __init__(self, state: str, expired: bool = False) -> None:
        self.state = state  # "idle", "active", "closed" or "new" (being connected)
        self.expired = expired
        self.expiry_checks = 0

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return True

    def is_available(self) -> bool:
        return self.state == "idle"

    def is_idle(self) -> bool:
        return self.state == "idle"

    def is_closed(self) -> bool:
        return self.state == "closed"

    def has_expired(self) -> bool:
        self.expiry_checks += 1
        return self.expired and self.state == "idle"


_STATES = st.sampled_from(["idle", "active", "closed", "new"])


@settings(max_examples=300, deadline=None)
@given(
    conns=st.lists(st.tuples(_STATES, st.booleans()), max_size=12),
    taken_count=st.integers(0, 4),
    queued=st.integers(0, 8),
    max_connections=st.integers(1, 12),
    keepalive_less=st.integers(0, 3),
    sweep=st.booleans(),
)
def test_assignment_pass_invariants(
    conns: list[tuple[str, bool]], taken_count: int, queued: int, max_connections: int, keepalive_less: int, sweep: bool
) -> None:
    # In an event loop: handing a connection to a request sets an anyio event.
    asyncio.run(_pass(conns, taken_count, queued, max_connections, keepalive_less, sweep))


async def _pass(
    conns: list[tuple[str, bool]], taken_count: int, queued: int, max_connections: int, keepalive_less: int, sweep: bool
) -> None:
    p = pool.UpstreamPool(max_connections=max_connections, max_keepalive_connections=max_connections - keepalive_less)
    p._next_sweep = 0.0 if sweep else float("inf")
    made: list[_Conn] = []

    def create_connection(origin: httpcore.Origin) -> _Conn:
        made.append(_Conn("new"))
        return made[-1]

    p.create_connection = create_connection  # type: ignore[assignment,method-assign]
    connections = [_Conn(s, e) for s, e in conns]
    p._connections = list(connections)  # type: ignore[arg-type]
    idle = [c for c in connections if c.state == "idle"]
    taken = idle[:taken_count]
    requests = []
    for c in taken:  # handed to a request that has not started on it yet
        r = httpcore._async.connection_pool.AsyncPoolRequest(httpcore.Request("POST", "http://up/v1"))
        r.assign_to_connection(c)  # type: ignore[arg-type]
        requests.append(r)
    waiting = [
        httpcore._async.connection_pool.AsyncPoolRequest(httpcore.Request("POST", "http://up/v1"))
        for _ in range(queued)
    ]
    p._requests = requests + waiting

    closing = p._assign_requests_to_connections()

    now = p._connections
    assert not any(c.is_closed() for c in now)  # type: ignore[attr-defined]
    assert not set(map(id, closing)) & set(map(id, now))
    assert not set(map(id, closing)) & set(map(id, taken))  # nothing handed out is closed
    assert all(c in now for c in taken)
    got = [r.connection for r in waiting if r.connection is not None]
    assert len(set(map(id, got))) == len(got)  # no connection given to two requests
    assert not set(map(id, got)) & set(map(id, taken))
    for c in got:
        assert c in now
        assert isinstance(c, _Conn) and not (c.expired and c.state == "idle")  # never an expired one
    assert len(now) <= max(max_connections, len([c for c in connections if not c.is_closed()]))
    if len(got) < queued:  # a request waits only when the pool is full and nothing idle is free
        assert len(now) >= max_connections
        assert not [c for c in now if c.is_idle() and c not in taken and c not in got]  # type: ignore[attr-defined]
    if not sweep:  # between sweeps, only connections about to be handed out are checked
        assert all(c.expiry_checks <= 1 for c in connections)
        checked = [c for c in connections if c.expiry_checks]
        assert all(c.state == "idle" and c not in taken for c in checked)
