"""The record-source protocol: look a customer up by id."""

from __future__ import annotations

from typing import Protocol

from guard.types import CustomerRecord

__all__ = ["CrmError", "NoSource", "RecordSource"]


class CrmError(Exception):
    """The source could not answer (unreachable, bad data): the guard fails closed, never guesses."""


class RecordSource(Protocol):
    """Where records of customers live; `get` returns None for an unknown customer."""

    async def get(self, customer_id: str) -> CustomerRecord | None: ...

    async def aclose(self) -> None: ...


class NoSource:
    """No CRM configured: every lookup by id is unknown (inline records still work)."""

    async def get(self, customer_id: str) -> CustomerRecord | None:
        return None

    async def aclose(self) -> None:
        return None
