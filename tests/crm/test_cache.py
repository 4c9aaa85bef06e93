from __future__ import annotations

from guard.crm.cache import CachedSource
from guard.types import CustomerRecord


class Counting:
    def __init__(self) -> None:
        self.calls = 0
        self.known = {"C1", "C2", "C3"}

    async def get(self, customer_id: str) -> CustomerRecord | None:
        self.calls += 1
        if customer_id not in self.known:
            return None
        return CustomerRecord(customer_id=customer_id, name="张飞", gender="male")

    async def aclose(self) -> None:
        return None


async def test_ttl_and_size() -> None:
    now = [0.0]
    inner = Counting()
    cache = CachedSource(inner, ttl=10, size=2, clock=lambda: now[0])
    assert (await cache.get("C1")) is not None
    assert (await cache.get("C1")) is not None
    assert inner.calls == 1
    now[0] = 11
    await cache.get("C1")
    assert inner.calls == 2  # expired
    await cache.get("C2")
    await cache.get("C3")  # evicts C1 (least recently used)
    await cache.get("C1")
    assert inner.calls == 5


async def test_unknown_customers_are_not_cached() -> None:
    inner = Counting()
    cache = CachedSource(inner, ttl=10, size=10)
    assert await cache.get("NEW") is None
    inner.known.add("NEW")
    assert await cache.get("NEW") is not None
