"""`guard serve`'s server: uvicorn on uvloop and httptools, the standard loop and parser without them."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import pytest
import uvicorn
import uvloop
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from guard.proxy.server import WORKER_SETTINGS_ENV, server_options, server_stack, worker_app


def test_the_server_runs_on_uvloop_and_httptools() -> None:
    assert server_stack() == ("uvloop", "httptools")
    config = uvicorn.Config(FastAPI(), **server_options(host="127.0.0.1", port=0, log_level="warning"))
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
    assert config.access_log is False
    factory = config.get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_without_them_it_serves_on_the_standard_loop_and_parser_and_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` raises ImportError
    monkeypatch.setitem(sys.modules, "httptools", None)
    assert server_stack() == ("asyncio", "h11")
    with caplog.at_level(logging.WARNING, logger="guard.proxy.server"):
        config = uvicorn.Config(FastAPI(), **server_options(host="127.0.0.1", port=0, log_level="warning"))
    assert "uvloop or httptools cannot be imported" in caplog.text
    config.load()
    assert config.http_protocol_class is H11Protocol
    factory = config.get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert type(loop).__module__.startswith("asyncio")
    finally:
        loop.close()


def test_no_warning_when_both_are_there(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="guard.proxy.server"):
        server_options(host="127.0.0.1", port=0, log_level="warning")
    assert caplog.records == []
    assert asyncio.get_event_loop_policy().__class__.__module__.startswith("asyncio")  # nothing global changed


def test_a_worker_that_cannot_start_logs_why_without_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from uvicorn.config import STARTUP_FAILURE

    cfg = tmp_path / "guard.yaml"
    cfg.write_text("upstream_api_key: [sk-UPSTREAM-SECRET]\n", encoding="utf-8")
    monkeypatch.setenv("GUARD_API_KEYS", '{"name": "a", "key": "sk-SECRET-VALUE-1"}')
    monkeypatch.setenv(WORKER_SETTINGS_ENV, json.dumps({"config_file": str(cfg), "overrides": {"port": 8080}}))
    with caplog.at_level(logging.ERROR, logger="guard.proxy.server"), pytest.raises(SystemExit) as stopped:
        worker_app()
    assert stopped.value.code == STARTUP_FAILURE
    assert "GUARD_API_KEYS: api_keys: Input should be a list" in caplog.text
    assert f"{cfg}:1: upstream_api_key: Input should be a valid string" in caplog.text
    assert "SECRET" not in caplog.text


def test_a_worker_names_an_unexpected_start_up_error_by_its_type_only(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import guard.proxy.app

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("connect to postgresql://guard:sk-DSN-SECRET@db/guard failed")

    monkeypatch.setattr(guard.proxy.app, "create_app", broken)
    monkeypatch.setenv(WORKER_SETTINGS_ENV, json.dumps({"config_file": None, "overrides": {}}))
    with caplog.at_level(logging.ERROR, logger="guard.proxy.server"), pytest.raises(SystemExit):
        worker_app()
    assert "cannot start: RuntimeError" in caplog.text and "SECRET" not in caplog.text
