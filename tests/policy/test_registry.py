"""Hot reload: atomic swaps under load, invalid edits rejected while the old version serves, watchers."""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.engine import evaluate
from guard.policy.errors import PolicyError
from guard.policy.registry import PolicyRegistry, PolicyWatcher, ReloadOutcome, watch_policies
from guard.types import Decision
from tests.policy.conftest import BASE_POLICY, RECORD, write

# One 25-character sentence: over the limit in version A (20), within it in version B (30).
REPLY = "张先生您好。这是一个长度刚好二十五个字的句子用于测试热加载切换。"
A = BASE_POLICY.format(sentence_max=20)
B = BASE_POLICY.format(sentence_max=30)


def _save(path: Path, text: str) -> None:
    """Save the way editors do: write a temporary file, then rename it over the policy."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write(tmp_path / "policies", {"base.yaml": A})


def test_reload_swaps_to_a_valid_edit(folder: Path) -> None:
    reg = PolicyRegistry(folder)
    before = reg.current
    _save(folder / "base.yaml", B)
    outcome = reg.reload()
    assert outcome.ok and outcome.changed
    assert reg.current is not before
    assert reg.current.version == outcome.version != before.version


def test_reload_without_change_keeps_the_same_object(folder: Path) -> None:
    reg = PolicyRegistry(folder)
    before = reg.current
    outcome = reg.reload()
    assert outcome.ok and not outcome.changed
    assert reg.current is before


def test_invalid_edit_is_rejected_and_the_old_version_keeps_serving(folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    reg = PolicyRegistry(folder)
    good = reg.current
    (folder / "base.yaml").write_text(A.replace("sentence_max: 20", "sentence_max: 二十"), encoding="utf-8")
    outcome = reg.reload()
    assert not outcome.ok
    assert reg.current is good
    st = reg.status()
    assert st.failures == 1 and st.reloads == 1 and st.degraded
    assert st.last_good_version == good.version
    assert st.last_error == (f"{folder / 'base.yaml'}:6: checks.length.sentence_max: Input should be a valid integer, unable to parse string as an integer",)
    detail = st.to_json()
    assert detail["reload_failures"] == 1 and detail["last_error"] == list(st.last_error)
    assert "still serving" in caplog.text and "二十" not in caplog.text  # problems only, no file text
    # fixing the file clears the error
    _save(folder / "base.yaml", B)
    assert reg.reload().ok
    assert not reg.status().degraded and reg.status().last_error == ()


def test_hooks_see_every_outcome_and_a_failing_hook_does_not_break_reload(folder: Path) -> None:
    reg = PolicyRegistry(folder)
    seen: list[ReloadOutcome] = []

    def broken(_: ReloadOutcome) -> None:
        raise RuntimeError("metric backend down")

    reg.on_reload += [broken, seen.append]
    (folder / "base.yaml").write_text("name: [", encoding="utf-8")
    reg.reload()
    _save(folder / "base.yaml", B)
    reg.reload()
    assert [o.ok for o in seen] == [False, True]
    assert seen[0].problems and "YAML syntax error" in seen[0].problems[0]


def test_an_invalid_folder_at_start_raises(tmp_path: Path) -> None:
    write(tmp_path, {"p.yaml": "name: P\n"})
    with pytest.raises(PolicyError, match="name"):
        PolicyRegistry(tmp_path)


def test_an_in_flight_request_keeps_the_set_it_started_with(folder: Path) -> None:
    reg = PolicyRegistry(folder)
    taken = reg.current  # a request starts
    _save(folder / "base.yaml", B)
    reg.reload()
    verdict = evaluate(taken.select(), RECORD, REPLY)
    assert verdict.policy_version == taken.policies["base"].version
    assert verdict.decision is Decision.REVISE  # version A's limit, although B now serves


def test_100_reloads_under_load_fail_no_request_and_never_mix_versions(folder: Path) -> None:
    reg = PolicyRegistry(folder)
    va = reg.current.policies["base"].version
    _save(folder / "base.yaml", B)
    reg.reload()
    vb = reg.current.policies["base"].version
    expected = {va: Decision.REVISE, vb: Decision.ALLOW}
    stop = threading.Event()
    failures: list[str] = []
    seen: dict[str, int] = {va: 0, vb: 0}

    def hammer() -> None:
        while not stop.is_set():
            try:
                policy = reg.current.select(None, RECORD.segment)  # read once per request
                v = evaluate(policy, RECORD, REPLY)
                if v.policy_version != policy.version or v.decision is not expected[v.policy_version]:
                    failures.append(f"{v.policy_version}: {v.decision}")
                seen[v.policy_version] += 1
            except Exception as exc:  # any error is a failed request
                failures.append(repr(exc))

    workers = [threading.Thread(target=hammer)]
    for w in workers:
        w.start()
    outcomes = []
    try:
        for i in range(100):
            _save(folder / "base.yaml", A if i % 2 == 0 else B)
            outcomes.append(reg.reload())
            time.sleep(0.001)
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert all(o.ok and o.changed for o in outcomes)
    assert failures == []
    assert seen[va] > 0 and seen[vb] > 0
    assert reg.status().reloads == 101 and reg.status().failures == 0


def _wait_for(predicate: object, timeout: float) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if predicate():  # type: ignore[operator]
            return time.perf_counter() - t0
        time.sleep(0.005)
    return float("inf")


def test_thread_watcher_serves_a_valid_edit_within_1_second(folder: Path) -> None:
    reg = PolicyRegistry(folder)
    old = reg.current.version
    with PolicyWatcher(reg):
        _save(folder / "base.yaml", B)
        elapsed = _wait_for(lambda: reg.current.version != old, 5.0)
        assert elapsed < 1.0
        assert reg.current.policies["base"].doc.checks["length"]["sentence_max"] == 30
        # a broken save is rejected, the valid version keeps serving
        good = reg.current
        _save(folder / "base.yaml", "name: base\ndefault: true\nchecks:\n  length:\n    sentence_max: -1\n")
        assert _wait_for(lambda: reg.status().failures >= 1, 5.0) < 5.0
        assert reg.current is good


async def test_async_watcher_serves_a_valid_edit_within_1_second(folder: Path) -> None:
    reg = PolicyRegistry(folder)
    old = reg.current.version
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(watch_policies(reg, stop_event=stop, ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 5)
        t0 = time.perf_counter()
        _save(folder / "base.yaml", B)
        while reg.current.version == old and time.perf_counter() - t0 < 5:
            await asyncio.sleep(0.005)
        assert time.perf_counter() - t0 < 1.0
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


class _Watching:
    """`watch_policies` running as a task on this loop for the body of an `async with`."""

    def __init__(self, reg: PolicyRegistry) -> None:
        self.reg = reg
        self.stop, self.ready = asyncio.Event(), asyncio.Event()

    async def __aenter__(self) -> _Watching:
        self.task = asyncio.create_task(watch_policies(self.reg, stop_event=self.stop, ready=self.ready))
        await asyncio.wait_for(self.ready.wait(), 5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 5)

    async def until(self, predicate: object, timeout: float = 5.0) -> bool:
        end = time.monotonic() + timeout
        while not predicate():  # type: ignore[operator]
            if time.monotonic() > end:
                return False
            await asyncio.sleep(0.005)
        return True


def _limit(reg: PolicyRegistry) -> object:
    return reg.current.policies["base"].doc.checks["length"]["sentence_max"]


async def test_async_watcher_starts_no_thread_and_reloads_nothing_until_a_file_changes(folder: Path) -> None:
    reg = PolicyRegistry(folder)
    threads = threading.active_count()
    async with _Watching(reg) as w:
        assert threading.active_count() == threads  # inotify read by this loop: no watcher thread
        await asyncio.sleep(0.3)
        assert reg.status().reloads == 0
        (folder / ".base.yaml.swp").write_text("an editor's swap file", encoding="utf-8")
        (folder / "notes~").write_text("a backup file", encoding="utf-8")
        await asyncio.sleep(0.3)
        assert reg.status().reloads == 0  # ignored files, as watchfiles' default filter says
        _save(folder / "base.yaml", B)
        assert await w.until(lambda: _limit(reg) == 30)
        assert reg.status().reloads == 1


async def test_async_watcher_serves_the_last_of_quick_saves(folder: Path) -> None:
    reg = PolicyRegistry(folder)
    async with _Watching(reg) as w:
        for limit in (30, 40, 35, 45):
            _save(folder / "base.yaml", BASE_POLICY.format(sentence_max=limit))
            await asyncio.sleep(0.01)
        assert await w.until(lambda: _limit(reg) == 45)
        await asyncio.sleep(0.3)
        assert _limit(reg) == 45


async def test_async_watcher_sees_a_lexicon_in_a_subfolder(folder: Path) -> None:
    lex = folder / "lexicons"
    lex.mkdir()
    (lex / "words.txt").write_text("[tier=2 | category=收益承诺 | reason=不得承诺收益]\n稳赚\n", encoding="utf-8")
    _save(folder / "base.yaml", A + "  lexicon:\n    files: [lexicons/words.txt]\n")
    reg = PolicyRegistry(folder)
    version = reg.current.version
    async with _Watching(reg) as w:
        (lex / "words.txt").write_text("[tier=2 | category=收益承诺 | reason=不得承诺收益]\n稳赚\n保本\n", encoding="utf-8")
        assert await w.until(lambda: reg.current.version != version)


async def test_async_watcher_waits_out_a_removed_folder_and_serves_it_when_back(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="guard.policy")
    reg = PolicyRegistry(folder)
    good = reg.current
    async with _Watching(reg) as w:
        shutil.rmtree(folder)
        assert await w.until(lambda: "is gone" in caplog.text)
        assert reg.status().degraded  # the reload says so; the last good set serves
        assert reg.current is good
        write(folder, {"base.yaml": B})
        assert await w.until(lambda: _limit(reg) == 30)
        _save(folder / "base.yaml", BASE_POLICY.format(sentence_max=40))  # and it is watched again
        assert await w.until(lambda: _limit(reg) == 40)
    assert f"policy folder {folder} is gone; the last good set serves until it is back" in caplog.text
    assert f"policy folder {folder} is back; watching it again" in caplog.text


async def test_async_watcher_follows_a_linked_folder_to_its_new_release(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="guard.policy")
    v1 = write(tmp_path / "v1", {"base.yaml": A})
    v2 = write(tmp_path / "v2", {"base.yaml": B})
    link = tmp_path / "policies"
    link.symlink_to(v1, target_is_directory=True)
    reg = PolicyRegistry(link)
    async with _Watching(reg) as w:
        new = tmp_path / "policies.new"
        new.symlink_to(v2, target_is_directory=True)
        os.replace(new, link)
        assert await w.until(lambda: _limit(reg) == 30)
        _save(v2 / "base.yaml", BASE_POLICY.format(sentence_max=40))  # the new release is watched
        assert await w.until(lambda: _limit(reg) == 40)
    assert f"policy folder {link} was replaced; watching the new one" in caplog.text
    assert "is gone" not in caplog.text


async def test_async_watcher_serves_a_kubernetes_configmap_update(tmp_path: Path) -> None:
    """A ConfigMap volume: each file a link into `..data`, itself a link to a timestamped folder
    that the kubelet swaps for a new one (a new folder, a new `..data` renamed over, the old removed)."""
    folder = tmp_path / "policies"
    write(folder / "..2026_12_07_01", {"base.yaml": A})
    (folder / "..data").symlink_to("..2026_12_07_01")
    (folder / "base.yaml").symlink_to("..data/base.yaml")
    reg = PolicyRegistry(folder)
    assert _limit(reg) == 20
    async with _Watching(reg) as w:
        write(folder / "..2026_12_07_02", {"base.yaml": B})
        (folder / "..data_tmp").symlink_to("..2026_12_07_02")
        os.replace(folder / "..data_tmp", folder / "..data")
        shutil.rmtree(folder / "..2026_12_07_01")
        assert await w.until(lambda: _limit(reg) == 30)
        await asyncio.sleep(0.2)
        assert not reg.status().degraded


async def test_async_watcher_polls_without_inotify(
    folder: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_inotify(_: object) -> None:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr("guard.policy.registry.FolderWatch", no_inotify)
    reg = PolicyRegistry(folder)
    with caplog.at_level("WARNING", logger="guard.policy"):
        async with _Watching(reg) as w:
            _save(folder / "base.yaml", B)
            assert await w.until(lambda: _limit(reg) == 30)
    assert f"inotify not available (Too many open files); polling {folder} every 0.25 s" in caplog.text


async def test_async_watcher_polls_when_asked_to(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def unexpected(_: object) -> None:
        raise AssertionError("inotify used although polling was asked for")

    monkeypatch.setattr("guard.policy.registry.FolderWatch", unexpected)
    monkeypatch.setenv("WATCHFILES_FORCE_POLLING", "1")
    reg = PolicyRegistry(folder)
    async with _Watching(reg) as w:
        for limit in (30, 40):  # saves of the same size within one second are each seen
            _save(folder / "base.yaml", BASE_POLICY.format(sentence_max=limit))
            assert await w.until(lambda: _limit(reg) == limit)  # noqa: B023
        shutil.rmtree(folder)  # a removed folder is rejected, and served again once back
        assert await w.until(lambda: reg.status().degraded)
        write(folder, {"base.yaml": BASE_POLICY.format(sentence_max=45)})
        assert await w.until(lambda: _limit(reg) == 45)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from([20, 30, 40, None]), min_size=1, max_size=8))
def test_current_is_always_the_last_valid_save(edits: list[int | None]) -> None:
    """Whatever sequence of valid (a limit) and broken (None) saves, the last valid one serves."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = write(Path(tmp), {"base.yaml": BASE_POLICY.format(sentence_max=25)})
        reg = PolicyRegistry(folder)
        serving, failures = 25, 0
        for limit in edits:
            text = BASE_POLICY.format(sentence_max=limit) if limit is not None else "name: base\nchecks: [\n"
            _save(folder / "base.yaml", text)
            outcome = reg.reload()
            assert outcome.ok is (limit is not None)
            serving = limit if limit is not None else serving
            failures += limit is None
            assert reg.current.policies["base"].doc.checks["length"]["sentence_max"] == serving
            assert reg.status().failures == failures
            assert reg.status().degraded is (limit is None)


def test_an_unexpected_loader_error_is_rejected_too(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reg = PolicyRegistry(folder)
    good = reg.current

    def boom(_: object) -> None:
        raise ValueError("客户张飞的回复")  # a message that must not reach the status or the log

    monkeypatch.setattr("guard.policy.registry.load_policy_set", boom)
    outcome = reg.reload()
    assert not outcome.ok and reg.current is good
    assert outcome.problems == (f"{folder}: unexpected error while loading policies (ValueError)",)


def test_a_watcher_that_cannot_start_says_so(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_watch(*_: object, **__: object) -> None:
        raise OSError("inotify watch limit reached")

    monkeypatch.setattr("guard.policy.registry.FolderWatch", no_watch)  # neither inotify here
    monkeypatch.setattr("guard.policy.registry.FolderPoll", no_watch)  # nor polling
    with pytest.raises(RuntimeError, match="policy watcher did not start: OSError"):
        PolicyWatcher(PolicyRegistry(folder)).start()


def test_thread_watcher_sleeps_until_a_change_and_stops_at_once(folder: Path) -> None:
    reg = PolicyRegistry(folder)
    watcher = PolicyWatcher(reg).start()
    try:
        time.sleep(0.3)
        assert reg.status().reloads == 0
        _save(folder / "base.yaml", B)
        assert _wait_for(lambda: _limit(reg) == 30, 5.0) < 1.0
    finally:
        t0 = time.perf_counter()
        watcher.stop()
        assert time.perf_counter() - t0 < 0.5  # woken from its select, not at a timeout
    assert watcher._thread is not None and not watcher._thread.is_alive()


def test_thread_watcher_waits_out_a_removed_folder_and_follows_a_replaced_link(tmp_path: Path) -> None:
    v1 = write(tmp_path / "v1", {"base.yaml": A})
    v2 = write(tmp_path / "v2", {"base.yaml": B})
    link = tmp_path / "policies"
    link.symlink_to(v1, target_is_directory=True)
    reg = PolicyRegistry(link)
    with PolicyWatcher(reg):
        new = tmp_path / "policies.new"
        new.symlink_to(v2, target_is_directory=True)
        os.replace(new, link)  # a release swapped in
        assert _wait_for(lambda: _limit(reg) == 30, 5.0) < 5.0
        shutil.rmtree(v2)  # the folder the link names, gone
        assert _wait_for(lambda: reg.status().degraded, 5.0) < 5.0
        write(v2, {"base.yaml": BASE_POLICY.format(sentence_max=40)})
        assert _wait_for(lambda: _limit(reg) == 40, 5.0) < 5.0


def test_thread_watcher_polls_when_asked_to(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def unexpected(_: object) -> None:
        raise AssertionError("inotify used although polling was asked for")

    monkeypatch.setattr("guard.policy.registry.FolderWatch", unexpected)
    reg = PolicyRegistry(folder)
    watcher = PolicyWatcher(reg, force_polling=True).start()
    try:
        for limit in (30, 40):
            _save(folder / "base.yaml", BASE_POLICY.format(sentence_max=limit))
            assert _wait_for(lambda: _limit(reg) == limit, 5.0) < 2.0  # noqa: B023
    finally:
        t0 = time.perf_counter()
        watcher.stop()
        assert time.perf_counter() - t0 < 1.0
