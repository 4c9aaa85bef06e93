"""Customer record sources: inline in the request, a SQLite table, or an HTTP CRM endpoint."""

from __future__ import annotations

from guard.crm.base import CrmError, RecordSource
from guard.crm.cache import CachedSource
from guard.crm.http import HttpRecordSource
from guard.crm.sqlite import SqliteRecordSource, import_records

__all__ = ["CachedSource", "CrmError", "HttpRecordSource", "RecordSource", "SqliteRecordSource", "import_records"]
