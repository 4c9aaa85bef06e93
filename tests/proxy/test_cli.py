"""`guard serve` and `guard crm import` as a user runs them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from guard.cli import main
from guard.testing.scripted_upstream import ScriptedUpstream
from tests.proxy.scenarios import OK, ask


def test_crm_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "c.jsonl"
    src.write_text('{"customer_id": "C1", "name": "张飞", "gender": "male"}\n', encoding="utf-8")
    assert main(["crm", "import", str(src), "--db", str(tmp_path / "crm.db")]) == 0
    assert "imported 1 customer records" in capsys.readouterr().out
    src.write_text('{"customer_id": "C1"}\n', encoding="utf-8")
    assert main(["crm", "import", str(src), "--db", str(tmp_path / "crm.db")]) == 2
    assert "c.jsonl:1: name: required field is missing" in capsys.readouterr().err


def test_serve_refuses_to_start_without_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "guard.yaml"
    cfg.write_text("crm_source: none\n", encoding="utf-8")
    assert main(["serve", "--config", str(cfg)]) == 2
    assert "no API keys configured" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url + "/readyz").status_code == 200:
                return
        except httpx.ConnectError:
            pass
        assert time.monotonic() < deadline and proc.poll() is None, "guard serve did not come up"
        time.sleep(0.1)



def _chat(url: str, customer_id: str) -> httpx.Response:
    """One guarded completion for an inline record, on a connection of its own."""
    with httpx.Client(timeout=30) as client:
        return client.post(
            url + "/v1/chat/completions", headers={"authorization": "Bearer sk-1"},
            json={"model": "m", "messages": ask("ok"),
                  "guard": {"record": {"customer_id": customer_id, "name": "张飞", "gender": "male"}}},
        )


def test_serve_exits_with_an_error_when_its_port_is_taken(tmp_path: Path) -> None:
    cfg = tmp_path / "guard.yaml"
    cfg.write_text(
        f"crm_source: none\nledger: {tmp_path / 'ledger.db'}\napi_keys:\n  - {{name: svc, key: sk-1, role: caller}}\n",
        encoding="utf-8",
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "guard.cli", "serve", "--config", str(cfg), "--port", str(port)],
            capture_output=True, text=True, timeout=60,
        )
    assert proc.returncode != 0
    assert "address already in use" in proc.stderr.lower()


def test_serve_end_to_end(tmp_path: Path) -> None:
    customers = tmp_path / "c.csv"
    customers.write_text("customer_id,name,gender\nC9,张飞,male\n", encoding="utf-8")
    db = tmp_path / "crm.db"
    cfg = tmp_path / "guard.yaml"
    cfg.write_text(
        f"crm_sqlite_path: {db}\napi_keys:\n  - {{name: svc, key: sk-1, role: caller}}\n", encoding="utf-8"
    )
    assert main(["crm", "import", str(customers), "--config", str(cfg)]) == 0
    port = _free_port()
    with ScriptedUpstream({"ok": OK}) as up:
        env = {**os.environ, "GUARD_UPSTREAM_BASE_URL": up.base_url}
        proc = subprocess.Popen(
            [sys.executable, "-m", "guard.cli", "serve", "--config", str(cfg), "--port", str(port),
             "--log-level", "warning"],
            env=env,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, proc, 20)
            r = httpx.post(url + "/v1/chat/completions", headers={"authorization": "Bearer sk-1"},
                           json={"model": "m", "messages": ask("ok"), "guard": {"customer_id": "C9"}})
            assert r.status_code == 200, r.text
            body = json.loads(r.text)
            # The shipped policy grows checks over time: only what any of them must keep is asserted.
            assert body["guard"]["policy"] == "outbound_marketing"
            assert body["guard"]["decision"] == "allow", body["guard"]
            assert body["choices"][0]["message"]["content"] == OK
            # The serving process runs on uvloop and parses HTTP with httptools (guard.proxy.server):
            # both extension modules are mapped into it.
            maps = Path(f"/proc/{proc.pid}/maps")
            if maps.exists():
                mapped = maps.read_text()
                assert "/uvloop/loop." in mapped and "/httptools/parser/" in mapped
        finally:
            proc.terminate()
            proc.wait(10)


def test_serve_logs_the_guards_own_lines_with_their_level(tmp_path: Path) -> None:
    """The guard's loggers go to uvicorn's handler at the command's level: the start-up heap's INFO
    line (docs/operations.md) is printed, with its level, as uvicorn's own lines are."""
    cfg = tmp_path / "guard.yaml"
    cfg.write_text(
        f"crm_source: none\nledger: {tmp_path / 'ledger.db'}\npolicy_watch: false\n"
        "api_keys:\n  - {name: svc, key: sk-1, role: caller}\n",
        encoding="utf-8",
    )
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "guard.cli", "serve", "--config", str(cfg), "--port", str(port)],
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", proc, 30)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    lines = err.splitlines()
    assert [line for line in lines if line.startswith("INFO:") and "start-up heap" in line], err
    assert any(line.startswith("INFO:") and "Application startup complete" in line for line in lines)


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of each child process of `pid` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append((int(entry.name), cmdline))
    return out


def _serve_two_workers(tmp_path: Path, port: int, *extra: str, **popen: Any) -> subprocess.Popen[bytes]:
    """`guard serve --workers 2` on `port` with one caller key (sk-1); `extra` adds arguments."""
    cfg = tmp_path / "guard.yaml"
    cfg.write_text("crm_source: none\napi_keys:\n  - {name: svc, key: sk-1, role: caller}\n", encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "guard.cli", "serve", "--config", str(cfg), "--port", str(port),
         "--workers", "2", *extra],
        **popen,
    )


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
def test_serve_with_two_workers_serves_from_both_into_one_ledger(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from guard.audit.ledger import open_ledger
    from guard.audit.query import verify

    ledger = tmp_path / "ledger.db"
    port = _free_port()
    with ScriptedUpstream({"ok": OK}) as up:
        proc = _serve_two_workers(
            tmp_path, port, "--upstream", up.base_url, "--log-level", "warning",
            env={**os.environ, "GUARD_LEDGER": str(ledger)},  # the environment's setting reaches the workers
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, proc)
            workers = [pid for pid, cmd in _children(proc.pid) if "spawn_main" in cmd]
            assert len(workers) == 2

            def ask_once(i: int) -> dict[str, object]:
                r = _chat(url, f"C{i}")  # a connection each: the kernel spreads them
                assert r.status_code == 200, r.text
                guard: dict[str, object] = r.json()["guard"]
                return guard

            # Each worker listens on its own SO_REUSEPORT socket, and the kernel spreads new
            # connections over the sockets that listen: a worker still starting (/readyz answered
            # for the first) gets its share once it listens. Each worker that answered handed its
            # records to a ledger writer of its own; send until both did (and at least 60 requests).
            answers: list[dict[str, object]] = []
            deadline = time.monotonic() + 120
            with ThreadPoolExecutor(8) as pool:
                while True:
                    answers += pool.map(ask_once, range(len(answers), len(answers) + 20))
                    writers = [pid for w in workers for pid, cmd in _children(w) if "guard/audit/writer.py" in cmd]
                    if len(writers) == 2 and len(answers) >= 60:
                        break
                    assert time.monotonic() < deadline, f"ledger writers after {len(answers)} requests: {writers}"
            n = len(answers)
            assert {a["decision"] for a in answers} == {"allow"}
            assert len({a["trace_id"] for a in answers}) == n
        finally:
            proc.terminate()
            code = proc.wait(60)
    assert code == 0  # SIGTERM: both workers shut down, the supervisor with them
    led = open_ledger(str(ledger))
    try:
        assert led.count() == n  # every decision committed before its reply went out
        report = verify(led)
        assert report.ok and report.checked == n  # one chain, whichever worker wrote each record
        assert {row.trace_id for row in led.rows()} == {a["trace_id"] for a in answers}
    finally:
        led.close()


def test_serve_with_workers_stops_when_a_worker_cannot_start(tmp_path: Path) -> None:
    bad = tmp_path / "policies"
    bad.mkdir()
    (bad / "p.yaml").write_text('name: x\nversion: "1"\n', encoding="utf-8")
    cfg = tmp_path / "guard.yaml"
    cfg.write_text(
        f"crm_source: none\nledger: {tmp_path / 'ledger.db'}\napi_keys:\n  - {{name: svc, key: sk-1, role: caller}}\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "guard.cli", "serve", "--config", str(cfg), "--port", str(_free_port()),
         "--policy", str(bad), "--workers", "2"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "p.yaml:2: version: unknown field" in proc.stderr  # the policy's own error, file:line
    assert "a worker process could not start" in proc.stderr
    assert time.monotonic() - started < 60  # not started again and again


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
def test_serve_replaces_a_worker_that_dies_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    import signal

    port = _free_port()
    with ScriptedUpstream({"ok": OK}) as up:
        proc = _serve_two_workers(
            tmp_path, port, "--upstream", up.base_url, "--log-level", "warning",
            start_new_session=True, stderr=subprocess.PIPE,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, proc)
            workers = [pid for pid, cmd in _children(proc.pid) if "spawn_main" in cmd]
            assert len(workers) == 2
            os.kill(workers[0], signal.SIGKILL)
            deadline = time.monotonic() + 30
            while True:
                now = [pid for pid, cmd in _children(proc.pid) if "spawn_main" in cmd]
                if len(now) == 2 and workers[0] not in now:
                    break
                assert time.monotonic() < deadline, f"no worker replaced the killed one: {now}"
                time.sleep(0.2)
            replacement = (set(now) - set(workers)).pop()
            deadline = time.monotonic() + 60
            answered: set[int] = set()
            while len(answered) < 2:  # both the survivor and the replacement take connections
                r = _chat(url, "C1")
                assert r.status_code == 200, r.text
                answered = {w for w in (workers[1], replacement)
                            if any("guard/audit/writer.py" in cmd for _, cmd in _children(w))}
                assert time.monotonic() < deadline, f"workers that answered: {answered}"
        finally:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole process group
            code = proc.wait(60)
            err = proc.stderr.read().decode() if proc.stderr else ""
    assert code == 0, err
    assert f"worker process {workers[0]} ended (exit status -9); starting another" in err


def test_serve_with_workers_refuses_a_taken_port(tmp_path: Path) -> None:
    cfg = tmp_path / "guard.yaml"
    cfg.write_text("crm_source: none\napi_keys:\n  - {name: svc, key: sk-1, role: caller}\n", encoding="utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "guard.cli", "serve", "--config", str(cfg), "--port", str(port), "--workers", "2"],
            capture_output=True, text=True, timeout=60,
        )
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in proc.stderr


# -- start-up failures: one line `guard: …`, exit status 2, never a traceback or a value -----------------


def _refused(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str) -> str:
    """`guard serve ARGV`'s error line, after checking it is one line and the status 2."""
    import uvicorn

    def started(*_: Any, **__: Any) -> None:
        raise AssertionError("guard serve started")

    monkeypatch.setattr(uvicorn, "run", started)
    assert main(["serve", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("guard: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "input_value" not in err and "errors.pydantic.dev" not in err
    return err.strip()


def _config(tmp_path: Path, extra: str = "") -> Path:
    cfg = tmp_path / "guard.yaml"
    cfg.write_text(f"api_keys:\n  - {{name: svc, key: sk-1, role: caller}}\n{extra}", encoding="utf-8")
    return cfg


@pytest.mark.parametrize(
    ("env", "extra", "want", "secret"),
    [
        ({"GUARD_API_KEYS": '{"name": "a", "key": "sk-SECRET-VALUE-1"}'}, "",
         "guard: invalid settings: GUARD_API_KEYS: api_keys: Input should be a list", "sk-SECRET-VALUE-1"),
        ({"GUARD_MODEL_MAP": "guarded=qwen"}, "", "guard: invalid settings: GUARD_MODEL_MAP must hold a JSON object",
         "guarded=qwen"),
        ({}, "upstream_api_key: [sk-UPSTREAM-SECRET]\n",
         "guard: invalid settings: {cfg}:3: upstream_api_key: Input should be a valid string", "sk-UPSTREAM-SECRET"),
        ({}, "crm_http_api_key: [sk-CRM-SECRET]\n",
         "guard: invalid settings: {cfg}:3: crm_http_api_key: Input should be a valid string", "sk-CRM-SECRET"),
        ({}, "port: [sk-YAML-SECRET\n", "guard: invalid settings: {cfg}:4:1: not valid YAML", "sk-YAML-SECRET"),
        ({"GUARD_UPSTREAM_BASE_URL": "127.0.0.1:18631/v1"}, "",
         "guard: invalid settings: GUARD_UPSTREAM_BASE_URL: upstream_base_url: must be an http:// or https:// URL",
         "18631"),
    ],
)
def test_serve_settings_errors_are_one_line_without_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    env: dict[str, str], extra: str, want: str, secret: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cfg = _config(tmp_path, extra)
    err = _refused(capsys, monkeypatch, "--config", str(cfg))
    assert err.startswith(want.format(cfg=cfg)), err
    assert secret not in err


@pytest.mark.parametrize(
    ("extra", "want"),
    [
        ("crm_source: none\nledger: {tmp}/a-file/ledger.db\n",
         "guard: cannot open the ledger {tmp}/a-file/ledger.db (setting ledger): {tmp}/a-file exists and is not a folder"),
        ("crm_source: none\nledger: {tmp}/not-a-db\n",
         "guard: cannot open the ledger {tmp}/not-a-db: file is not a database (setting ledger)"),
        ("crm_sqlite_path: {tmp}/a-file/crm.db\n",
         "guard: cannot open the CRM table {tmp}/a-file/crm.db (setting crm_sqlite_path): {tmp}/a-file exists and is "
         "not a folder"),
        ("crm_sqlite_path: {tmp}/not-a-db\n",
         "guard: cannot open the CRM table {tmp}/not-a-db (setting crm_sqlite_path): file is not a database"),
        ("crm_source: http\n", "guard: crm_source is http but crm_http_url (GUARD_CRM_HTTP_URL) is not set"),
    ],
)
def test_serve_start_up_failures_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, extra: str, want: str
) -> None:
    from tests.proxy.policies import write_yaml_policies

    monkeypatch.delenv("GUARD_LEDGER")  # tests/conftest.py's; the file's applies here
    monkeypatch.chdir(tmp_path)  # the default ledger, were one opened, is not the working tree's

    (tmp_path / "a-file").write_text("", encoding="utf-8")
    (tmp_path / "not-a-db").write_text("this is text, not a SQLite database\n" * 4, encoding="utf-8")
    policies = write_yaml_policies(tmp_path / "policies")  # small: nothing to wait for
    cfg = _config(tmp_path, extra.format(tmp=tmp_path))
    assert _refused(capsys, monkeypatch, "--config", str(cfg), "--policy", str(policies)) == want.format(tmp=tmp_path)


def test_serve_settings_error_in_a_real_process(tmp_path: Path) -> None:
    """The process itself: status 2, the one line last, no traceback, no key."""
    env = {**os.environ, "GUARD_API_KEYS": '{"name": "a", "key": "sk-SECRET-VALUE-1"}'}
    proc = subprocess.run([sys.executable, "-m", "guard.cli", "serve", "--port", "0"], env=env,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == "guard: invalid settings: GUARD_API_KEYS: api_keys: Input should be a list"
    assert "Traceback" not in proc.stderr and "sk-SECRET" not in proc.stderr
