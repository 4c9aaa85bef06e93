from __future__ import annotations

import logging
from pathlib import Path

import pytest

from guard.crm.base import NoSource
from guard.crm.cache import CachedSource
from guard.crm.http import HttpRecordSource
from guard.crm.sqlite import SqliteRecordSource, import_records
from guard.proxy.app import build_record_source
from guard.proxy.errors import GuardHTTPError
from guard.proxy.settings import ConfigError, GuardSettings


async def test_configured_sources(tmp_path: Path) -> None:
    sqlite = build_record_source(GuardSettings(crm_sqlite_path=str(tmp_path / "c.db")))
    assert isinstance(sqlite, CachedSource) and isinstance(sqlite.source, SqliteRecordSource)
    http = build_record_source(GuardSettings(crm_source="http", crm_http_url="http://crm/customers"))
    assert isinstance(http, CachedSource) and isinstance(http.source, HttpRecordSource)
    assert isinstance(build_record_source(GuardSettings(crm_source="none")), NoSource)
    for s in (sqlite, http):
        await s.aclose()


def test_http_source_needs_a_url() -> None:
    with pytest.raises(ConfigError, match=r"crm_source is http but crm_http_url \(GUARD_CRM_HTTP_URL\) is not set"):
        build_record_source(GuardSettings(crm_source="http"))


async def test_no_crm_source_answers_a_lookup_by_id_with_a_422_that_says_so() -> None:
    with pytest.raises(GuardHTTPError) as refused:
        await build_record_source(GuardSettings(crm_source="none")).get("C1")
    assert refused.value.status == 422 and refused.value.code == "no_crm_source"
    assert "no CRM source is configured" in refused.value.message


async def test_an_empty_crm_table_is_a_warning_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The import is optional (docs/operations.md), so an empty or new table starts; it says so."""
    missing = tmp_path / "typo-dir" / "crm.db"

    async def warnings() -> str:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="guard.proxy"):
            await build_record_source(GuardSettings(crm_sqlite_path=str(missing))).aclose()
        return caplog.text

    assert f"the CRM table {missing} did not exist; it was created with 0 customers" in await warnings()
    assert "guard crm import" in caplog.text
    assert f"the CRM table {missing} holds 0 customers" in await warnings()
    src = tmp_path / "c.jsonl"
    src.write_text('{"customer_id": "C1", "name": "张飞", "gender": "male"}\n', encoding="utf-8")
    import_records(missing, src)
    assert await warnings() == ""


@pytest.mark.parametrize("name", ["a-file/crm.db", "not-a-db"])
def test_a_crm_table_that_cannot_be_opened_is_a_config_error(tmp_path: Path, name: str) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    (tmp_path / "not-a-db").write_text("text, not SQLite\n" * 8, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cannot open the CRM table .* \(setting crm_sqlite_path\): "):
        build_record_source(GuardSettings(crm_sqlite_path=str(tmp_path / name)))
