from __future__ import annotations

from pathlib import Path

import pytest

from guard.crm.base import NoSource
from guard.crm.cache import CachedSource
from guard.crm.http import HttpRecordSource
from guard.crm.sqlite import SqliteRecordSource
from guard.proxy.app import build_record_source
from guard.proxy.settings import GuardSettings


async def test_configured_sources(tmp_path: Path) -> None:
    sqlite = build_record_source(GuardSettings(crm_sqlite_path=str(tmp_path / "c.db")))
    assert isinstance(sqlite, CachedSource) and isinstance(sqlite.source, SqliteRecordSource)
    http = build_record_source(GuardSettings(crm_source="http", crm_http_url="http://crm/customers"))
    assert isinstance(http, CachedSource) and isinstance(http.source, HttpRecordSource)
    assert isinstance(build_record_source(GuardSettings(crm_source="none")), NoSource)
    for s in (sqlite, http):
        await s.aclose()


def test_http_source_needs_a_url() -> None:
    with pytest.raises(ValueError):
        build_record_source(GuardSettings(crm_source="http"))
