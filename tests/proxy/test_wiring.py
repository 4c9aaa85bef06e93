"""The app as `guard serve` builds it: hot-reloaded policy folder, OTel auditor, durable ledger.

Real parts throughout: the official `openai` client, uvicorn on 127.0.0.1, the scripted upstream,
a SQLite ledger on disk, the policy folder edited on disk while the server runs.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from guard.audit.ledger import open_ledger
from guard.audit.query import verify
from guard.policy.loader import DEFAULT_POLICY_DIR
from guard.proxy.app import create_app
from guard.proxy.settings import ApiKey, GuardSettings
from guard.testing.scripted_upstream import ScriptedUpstream
from guard.testing.server import serve_in_thread

CALLER, AUDITOR = "sk-wiring-caller", "sk-wiring-auditor"
RECORD = {"customer_id": "C1", "name": "张飞", "gender": "male", "credit_line": 4000}
SCENARIOS = {
    "ok": ["张先生您好，您的4000元额度已经审核通过了。"],
    "wrong": ["李先生您好，您的五千元额度已经审核通过了。"],
}


class Running:
    def __init__(self, url: str, policies: Path, ledger: Path) -> None:
        self.url, self.policies, self.ledger = url, policies, ledger

    def client(self) -> OpenAI:
        return OpenAI(base_url=self.url + "/v1", api_key=CALLER, max_retries=0)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    policies = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_DIR, policies)
    ledger = tmp_path / "ledger.db"
    with ScriptedUpstream(SCENARIOS) as up:
        settings = GuardSettings(
            upstream_base_url=up.base_url,
            policy_path=str(policies),
            ledger=str(ledger),
            crm_source="none",
            api_keys=(ApiKey(name="dialogue", key=CALLER, role="caller"), ApiKey(name="qa", key=AUDITOR, role="auditor")),
        )
        with serve_in_thread(create_app(settings)) as url:
            yield Running(url, policies, ledger)


def _ask(r: Running, scenario: str) -> tuple[str | None, dict[str, object]]:
    resp = r.client().chat.completions.create(
        model=scenario,
        messages=[{"role": "user", "content": "你好"}],
        extra_body={"guard": {"record": RECORD}},
    )
    extra = resp.model_extra or {}
    guard = extra["guard"]
    assert isinstance(guard, dict)
    return resp.choices[0].message.content, guard


def test_every_released_reply_has_a_verified_ledger_record(running: Running) -> None:
    content, guard = _ask(running, "wrong")
    assert content == "张先生您好，您的四千元额度已经审核通过了。"
    assert guard["decision"] == "revise" and "fact.name" in guard["violations"]  # type: ignore[operator]
    _, guard2 = _ask(running, "ok")
    ledger = open_ledger(str(running.ledger), create=False)
    try:
        rows = {row.trace_id: row for row in ledger.rows()}
        assert {guard["trace_id"], guard2["trace_id"]} <= set(rows)
        rec = rows[str(guard["trace_id"])].record()
        assert rec["policy_version"] == guard["policy_version"]
        assert rec["released"] == content
        assert verify(ledger).ok
    finally:
        ledger.close()


def test_records_carry_each_checks_run_time_streamed_or_not(running: Running) -> None:
    """`check_ms` of the ledger record (docs/audit.md): every check of the policy, summed over the
    evaluations of the call (a stream is checked sentence by sentence)."""
    _, guard = _ask(running, "ok")
    stream = running.client().chat.completions.create(
        model="wrong",
        messages=[{"role": "user", "content": "你好"}],
        extra_body={"guard": {"record": RECORD}},
        stream=True,
    )
    streamed = [c for c in stream]
    trace = (streamed[-1].model_extra or {})["guard"]["trace_id"]
    ledger = open_ledger(str(running.ledger), create=False)
    try:
        rows = {row.trace_id: row.record() for row in ledger.rows()}
    finally:
        ledger.close()
    for tid, stream_flag in ((guard["trace_id"], False), (trace, True)):
        rec = rows[str(tid)]
        assert rec["stream"] is stream_flag
        assert sorted(rec["check_ms"]) == ["facts", "length", "lexicon", "pii"]
        assert all(isinstance(ms, float) and 0 <= ms < 1000 for ms in rec["check_ms"].values())


def test_audit_endpoints_are_for_auditors_only(running: Running) -> None:
    _, guard = _ask(running, "ok")
    url = f"{running.url}/v1/audit/records"
    assert httpx.get(url, headers={"authorization": f"Bearer {CALLER}"}).status_code == 403
    assert httpx.get(url).status_code == 401
    r = httpx.get(url, headers={"authorization": f"Bearer {AUDITOR}"})
    assert r.status_code == 200
    assert guard["trace_id"] in r.text


def test_a_valid_edit_serves_within_a_second_and_a_broken_one_never_does(running: Running) -> None:
    def ready() -> dict[str, object]:
        body = httpx.get(running.url + "/readyz").json()
        assert isinstance(body, dict)
        return body

    before = ready()
    assert before["status"] == "ok"
    policy = running.policies / "outbound_marketing.yaml"
    text = policy.read_text(encoding="utf-8")
    policy.write_text(text.replace("sentence_max: 50 ", "sentence_max: 49 "), encoding="utf-8")
    t0 = time.monotonic()
    while ready()["policy_set_version"] == before["policy_set_version"]:
        assert time.monotonic() - t0 < 1.0, "a valid edit must serve within 1 s"
        time.sleep(0.02)
    good = ready()["policy_set_version"]
    policy.write_text(text.replace("sentence_max: 50 ", "sentence_max: fifty "), encoding="utf-8")
    t0 = time.monotonic()
    while not ready()["policies"]["degraded"]:  # type: ignore[index]
        assert time.monotonic() - t0 < 3.0
        time.sleep(0.02)
    body = ready()
    assert body["status"] == "ok" and body["policy_set_version"] == good  # the previous version keeps serving
    assert "outbound_marketing.yaml" in str(body["policies"]["last_error"])  # type: ignore[index]
    content, _ = _ask(running, "ok")
    assert content == "张先生您好，您的4000元额度已经审核通过了。"


def test_policy_polling_serves_an_edit_without_inotify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_inotify(_: object) -> None:
        raise AssertionError("inotify used although GUARD_POLICY_POLLING is set")

    monkeypatch.setattr("guard.policy.registry.FolderWatch", no_inotify)
    monkeypatch.setenv("GUARD_POLICY_POLLING", "true")
    policies = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_DIR, policies)
    with ScriptedUpstream(SCENARIOS) as up:
        settings = GuardSettings(
            upstream_base_url=up.base_url, policy_path=str(policies), ledger=str(tmp_path / "ledger.db"),
            crm_source="none", api_keys=(ApiKey(name="dialogue", key=CALLER, role="caller"),),
        )
        assert settings.policy_polling
        with serve_in_thread(create_app(settings)) as url:
            before = httpx.get(url + "/readyz").json()["policy_set_version"]
            policy = policies / "outbound_marketing.yaml"
            text = policy.read_text(encoding="utf-8")
            policy.write_text(text.replace("sentence_max: 50 ", "sentence_max: 49 "), encoding="utf-8")
            t0 = time.monotonic()
            while httpx.get(url + "/readyz").json()["policy_set_version"] == before:
                assert time.monotonic() - t0 < 2.0, "polled every 0.25 s, reloaded once settled"
                time.sleep(0.02)


async def test_a_policy_watcher_that_cannot_start_fails_the_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("guard.policy.registry.FolderWatch", broken)
    monkeypatch.setattr("guard.policy.registry.FolderPoll", broken)
    settings = GuardSettings(
        upstream_base_url="http://upstream.test/v1", ledger=str(tmp_path / "ledger.db"), crm_source="none",
        api_keys=(ApiKey(name="dialogue", key=CALLER, role="caller"),),
    )
    app = create_app(settings)
    with pytest.raises(PermissionError):  # not a server that hangs in its start, nor one that never reloads
        async with app.router.lifespan_context(app):
            pass


def test_startup_freezes_the_long_lived_heap(running: Running) -> None:
    import gc

    assert gc.get_freeze_count() > 10_000  # the libraries and the policy set are out of the GC's way


def test_the_proxy_routes_are_matched_before_the_auditors(tmp_path: Path) -> None:
    """Routes are tried in order: a chat completion must not first be matched against each route
    of the included audit router (with an audit ledger, as `guard serve` has)."""
    from fastapi.routing import APIRoute

    app = create_app(GuardSettings(upstream_base_url="http://127.0.0.1:9/v1", ledger=str(tmp_path / "l.db"),
                                   crm_source="none"))
    app.state.auditor.close()  # no lifespan ran: close what create_app opened
    paths = [r.path if isinstance(r, APIRoute) else type(r).__name__ for r in app.router.routes
             if isinstance(r, APIRoute) or not hasattr(r, "path")]
    assert paths[0] == "/v1/chat/completions"
    assert any(p.startswith("/v1/audit") for p in app.openapi()["paths"])  # the audit routes are there
