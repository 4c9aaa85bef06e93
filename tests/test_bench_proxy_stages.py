"""`python -m bench.proxy_stages`: a guarded request's time, stage by stage."""

from __future__ import annotations

import pytest

import guard.proxy.app as app_module
from bench.proxy_stages import SERIES, STAGES, main
from guard.proxy.service import GuardService
from guard.proxy.upstream import Upstream


def test_every_stage_is_timed_once_a_request_and_each_inside_its_caller(capsys: pytest.CaptureFixture[str]) -> None:
    originals = (app_module.parse_chat_request, Upstream.chat, GuardService.complete)
    timings = main(["--requests", "20"])
    for name in SERIES[:2]:  # the two guards
        t = timings[name]
        assert set(t) == set(STAGES)
        assert all(len(t[stage]) == 20 for stage in STAGES), {s: len(v) for s, v in t.items()}
        # One check and one record a request (the bench reply passes): the i-th samples belong together.
        assert all(c <= w for c, w in zip(t["checks"], t["check wait"], strict=True))
        assert all(x <= s for x, s in zip(t["ledger"], t["service"], strict=True))
        assert all(u <= s for u, s in zip(t["upstream"], t["service"], strict=True))
        assert all(s <= r for s, r in zip(t["service"], t["request"], strict=True))
    relay = timings["relay"]
    assert set(relay) == {"upstream", "request"} and len(relay["request"]) == 20
    # The timers are gone after the run.
    assert (app_module.parse_chat_request, Upstream.chat, GuardService.complete) == originals
    out = capsys.readouterr().out
    assert "check wait" in out and "guard, sync=full" in out
