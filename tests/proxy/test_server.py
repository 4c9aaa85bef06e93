"""`guard serve`'s server: uvicorn on uvloop and httptools, the standard loop and parser without them."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest
import uvicorn
import uvloop
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from guard.proxy.server import server_options, server_stack


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
