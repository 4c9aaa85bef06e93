from __future__ import annotations

import json

import httpx
import pytest

from guard.crm.base import CrmError
from guard.crm.http import HttpRecordSource

RECORD = {"customer_id": "C 1", "name": "张飞", "gender": "male"}


def handler(request: httpx.Request) -> httpx.Response:
    assert request.headers["authorization"] == "Bearer k"
    path = request.url.raw_path.decode()
    if path == "/crm/C%201":
        return httpx.Response(200, content=json.dumps(RECORD).encode())
    if path == "/crm/other":
        return httpx.Response(200, json={**RECORD, "customer_id": "X"})
    if path == "/crm/bad":
        return httpx.Response(200, json={"customer_id": "bad"})
    if path == "/crm/boom":
        return httpx.Response(500)
    return httpx.Response(404)


@pytest.fixture
def source() -> HttpRecordSource:
    return HttpRecordSource("http://crm/crm/", api_key="k", transport=httpx.MockTransport(handler))


async def test_found_and_unknown(source: HttpRecordSource) -> None:
    rec = await source.get("C 1")
    assert rec is not None and rec.name == "张飞"
    assert await source.get("nobody") is None
    await source.aclose()


@pytest.mark.parametrize("cid", ["other", "bad", "boom"])
async def test_anything_else_fails_closed(source: HttpRecordSource, cid: str) -> None:
    with pytest.raises(CrmError):
        await source.get(cid)


async def test_unreachable_fails_closed() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    src = HttpRecordSource("http://crm", transport=httpx.MockTransport(refuse))
    with pytest.raises(CrmError):
        await src.get("C1")
