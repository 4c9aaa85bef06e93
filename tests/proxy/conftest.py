from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from guard.audit.api import NullAuditor
from guard.crm.sqlite import SqliteRecordSource, import_records
from guard.proxy.app import create_app
from guard.proxy.settings import ApiKey, GuardSettings
from guard.testing.scripted_upstream import ScriptedUpstream
from guard.testing.server import serve_in_thread
from tests.proxy.policies import make_policy_set
from tests.proxy.scenarios import SCENARIOS

CALLER, AUDITOR, ADMIN = "sk-caller-test", "sk-auditor-test", "sk-admin-test"


@dataclass
class Guarded:
    """A running guard app and its scripted upstream."""

    url: str
    upstream: ScriptedUpstream
    auditor: NullAuditor

    @property
    def v1(self) -> str:
        return self.url + "/v1"


@pytest.fixture(scope="session")
def upstream() -> Iterator[ScriptedUpstream]:
    with ScriptedUpstream(SCENARIOS) as up:
        yield up


@pytest.fixture(scope="session")
def guarded(upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    tmp: Path = tmp_path_factory.mktemp("guard")
    customers = tmp / "customers.jsonl"
    customers.write_text(
        '{"customer_id": "C100", "name": "李娜", "gender": "female", "credit_line": 8000}\n', encoding="utf-8"
    )
    import_records(tmp / "crm.db", customers)
    settings = GuardSettings(
        upstream_base_url=upstream.base_url,
        upstream_read_timeout=1.0,
        upstream_connect_timeout=1.0,
        api_keys=(
            ApiKey(name="svc", key=CALLER, role="caller"),
            ApiKey(name="aud", key=AUDITOR, role="auditor"),
            ApiKey(name="root", key=ADMIN, role="admin"),
        ),
        max_body_bytes=64 * 1024,
        model_map={"guard-model": "scripted-model"},
    )
    auditor = NullAuditor()
    app = create_app(
        settings, policies=make_policy_set(tmp / "policies"), auditor=auditor, crm=SqliteRecordSource(tmp / "crm.db")
    )
    with serve_in_thread(app) as url:
        yield Guarded(url, upstream, auditor)
