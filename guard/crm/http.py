"""An HTTP CRM endpoint: `GET {url}/{customer_id}` → 200 with the record JSON, 404 unknown."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from pydantic import ValidationError

from guard.crm.base import CrmError
from guard.types import CustomerRecord

__all__ = ["HttpRecordSource"]


class HttpRecordSource:
    """Looks records up over HTTP; any answer but 200/404 is a `CrmError` (fail closed)."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"accept": "application/json"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        self.url = url.rstrip("/")
        self.client = httpx.AsyncClient(headers=headers, timeout=timeout, transport=transport)

    async def get(self, customer_id: str) -> CustomerRecord | None:
        try:
            response = await self.client.get(f"{self.url}/{quote(customer_id, safe='')}")
        except httpx.HTTPError as exc:
            raise CrmError(f"CRM endpoint unreachable ({type(exc).__name__})") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise CrmError(f"CRM endpoint answered HTTP {response.status_code}")
        try:
            record = CustomerRecord.model_validate_json(response.content)
        except ValidationError:
            raise CrmError("CRM endpoint returned a record that is not valid (contract §1)") from None
        if record.customer_id != customer_id:
            raise CrmError("CRM endpoint returned a different customer's record")
        return record

    async def aclose(self) -> None:
        await self.client.aclose()
