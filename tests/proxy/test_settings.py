from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from guard.proxy.settings import GuardSettings, load_settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def test_file_then_env_then_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "guard.yaml"
    cfg.write_text(
        "port: 9001\nupstream_base_url: http://file/v1\nmodel_map: {a: b}\n"
        "api_keys:\n  - {name: svc, key: k1, role: caller}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("GUARD_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("GUARD_UPSTREAM_BASE_URL", "http://env/v1")
    s = load_settings(host="0.0.0.0")
    assert s.port == 9001 and s.upstream_base_url == "http://env/v1" and s.host == "0.0.0.0"
    assert s.model_map == {"a": "b"} and s.api_keys[0].key.get_secret_value() == "k1"


def test_env_json_for_nested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARD_API_KEYS", '[{"name": "a", "key": "x", "role": "admin"}]')
    assert GuardSettings().api_keys[0].role == "admin"


def test_unknown_setting_in_file_is_an_error(tmp_path: Path) -> None:
    cfg = tmp_path / "guard.yaml"
    cfg.write_text("prot: 1\n", encoding="utf-8")
    with pytest.raises(ValidationError):
        load_settings(cfg)


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.M))
    assert set(GuardSettings.model_fields) <= documented
    for name in GuardSettings.model_fields:
        assert f"GUARD_{name.upper()}" in text
