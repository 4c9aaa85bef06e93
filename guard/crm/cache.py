"""A small TTL + LRU cache in front of a record source (found records only)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from guard.crm.base import RecordSource
from guard.types import CustomerRecord

__all__ = ["CachedSource"]


class CachedSource:
    """Caches found records for `ttl` seconds, at most `size` of them (least recently used go).

    Unknown customers are not cached: a customer imported a moment ago is found at once.
    """

    def __init__(
        self, source: RecordSource, *, ttl: float, size: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.source = source
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, CustomerRecord]] = OrderedDict()

    async def get(self, customer_id: str) -> CustomerRecord | None:
        now = self._clock()
        hit = self._items.get(customer_id)
        if hit is not None:
            if hit[0] > now:
                self._items.move_to_end(customer_id)
                return hit[1]
            del self._items[customer_id]
        record = await self.source.get(customer_id)
        if record is not None and self.size > 0 and self.ttl > 0:
            self._items[customer_id] = (now + self.ttl, record)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return record

    def clear(self) -> None:
        self._items.clear()

    async def aclose(self) -> None:
        await self.source.aclose()
