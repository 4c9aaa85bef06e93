from __future__ import annotations

import re
from pathlib import Path

import pytest

from guard.proxy.settings import ConfigError, GuardSettings, load_settings

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
    cfg.write_text("port: 1\nprot: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"guard\.yaml:2: prot: unknown setting"):
        load_settings(cfg)


def _error(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], cfg: Path | None = None, **overrides: object) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(cfg, **overrides)
    message = str(caught.value)
    assert "\n" not in message and "input_value" not in message and "errors.pydantic.dev" not in message
    return message


@pytest.mark.parametrize(
    ("env", "file", "where", "secret"),
    [
        ({"GUARD_API_KEYS": '{"name": "a", "key": "sk-SECRET-VALUE-1"}'}, None,
         "GUARD_API_KEYS: api_keys: Input should be a list", "sk-SECRET-VALUE-1"),
        ({"GUARD_PORT": "port-secret-abc"}, None, "GUARD_PORT: port: Input should be a valid integer", "port-secret"),
        ({}, "upstream_api_key: [sk-UPSTREAM-SECRET]\n", "guard.yaml:1: upstream_api_key: Input should be a valid string",
         "sk-UPSTREAM-SECRET"),
        ({}, "crm_http_api_key: {k: sk-CRM-SECRET}\n", "guard.yaml:1: crm_http_api_key:", "sk-CRM-SECRET"),
        ({}, "port: 1\napi_keys:\n  - name: a\n    key: 123456789\n",
         "guard.yaml:4: api_keys.0.key: Input should be a valid string", "123456789"),
    ],
)
def test_errors_name_the_setting_and_where_it_came_from_never_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], file: str | None, where: str, secret: str
) -> None:
    cfg = None
    if file is not None:
        cfg = tmp_path / "guard.yaml"
        cfg.write_text(file, encoding="utf-8")
    message = _error(monkeypatch, env, cfg)
    assert message.startswith("invalid settings: ")
    assert where in message
    assert secret not in message


def test_a_command_line_option_is_named_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _error(monkeypatch, {}, port=70000, option_names={"port": "--port"})
    assert message == "invalid settings: --port: port: Input should be less than or equal to 65535"


@pytest.mark.parametrize(
    ("name", "value", "want"),
    [
        ("GUARD_API_KEYS", "[{name: a, key: sk-SECRET-2}]",
         'GUARD_API_KEYS must hold a JSON list, e.g. [{"name": "svc", "key": "…", "role": "caller"}]: '
         "Expecting property name enclosed in double quotes at line 1 column 3"),
        ("GUARD_MODEL_MAP", "guarded=qwen", 'GUARD_MODEL_MAP must hold a JSON object, e.g. {"guarded": '),
    ],
)
def test_a_json_variable_that_is_not_json_says_so(monkeypatch: pytest.MonkeyPatch, name: str, value: str, want: str) -> None:
    message = _error(monkeypatch, {name: value})
    assert want in message and "EnvSettingsSource" not in message
    assert value not in message and "sk-SECRET-2" not in message


def test_a_yaml_syntax_error_is_file_line_column(tmp_path: Path) -> None:
    cfg = tmp_path / "guard.yaml"
    cfg.write_text("port: 1\nhost: [127.0.0.1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(cfg)
    assert str(caught.value) == (
        f"invalid settings: {cfg}:3:1: not valid YAML (expected ',' or ']', but got '<stream end>', "
        "while parsing a flow sequence at line 2)"
    )
    cfg.write_text("upstream_api_key: !sk-TAGGED-SECRET x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(cfg)
    assert f"{cfg}:1:" in str(caught.value) and "TAGGED" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["127.0.0.1:18631/v1", "localhost:8000/v1", "http:///v1", "ftp://llm/v1", "http://llm:99999/v1", "//llm/v1"]
)
def test_the_upstream_url_needs_http_and_a_host(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    message = _error(monkeypatch, {"GUARD_UPSTREAM_BASE_URL": url})
    assert message == (
        "invalid settings: GUARD_UPSTREAM_BASE_URL: upstream_base_url: must be an http:// or https:// URL "
        "with a host, e.g. http://127.0.0.1:8000/v1"
    )
    assert "--upstream: upstream_base_url" in _error(monkeypatch, {}, upstream_base_url=url,
                                                     option_names={"upstream_base_url": "--upstream"})


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/v1", "https://llm.internal/v1", "http://[::1]:8000/v1"])
def test_http_urls_with_a_host_are_accepted(url: str) -> None:
    assert load_settings(upstream_base_url=url, crm_http_url=url).upstream_base_url == url


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.M))
    assert set(GuardSettings.model_fields) <= documented
    for name in GuardSettings.model_fields:
        assert f"GUARD_{name.upper()}" in text


def test_a_misspelt_variable_stops_the_start_and_names_the_likely_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ignored, it would leave the shipped default policies serving instead of the bank's own.
    message = _error(monkeypatch, {"GUARD_POLICY_PTH": "/etc/guard/policies"})
    assert message == (
        "invalid settings: GUARD_POLICY_PTH: unknown setting (did you mean GUARD_POLICY_PATH?); "
        "docs/operations.md lists them"
    )
    assert "/etc/guard" not in message


def test_every_unknown_variable_is_named_and_far_ones_get_no_guess(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _error(monkeypatch, {"GUARD_API_KEY": "sk-x", "guard_zzz": "1"})
    assert "GUARD_API_KEY: unknown setting (did you mean GUARD_API_KEYS?)" in message
    assert "guard_zzz: unknown setting; docs" in message and "sk-x" not in message


def test_variables_read_elsewhere_are_known(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GUARD_NATIVE", "GUARD_LEDGER_SYNC", "GUARD_LEDGER_WRITER", "GUARD_SHARED_DATA", "GUARD_CONFIG_FILE"):
        monkeypatch.setenv(name, "x" if name != "GUARD_CONFIG_FILE" else "")
    monkeypatch.setenv("GUARD_NATIVE", "off")
    assert load_settings().port == 8080


# What a pod gets from a Service named `guard` (port 8080) and one named `guard-crm` (port 443).
_SERVICE_LINKS = {
    "GUARD_SERVICE_HOST": "10.96.0.11",
    "GUARD_SERVICE_PORT": "8080",
    "GUARD_SERVICE_PORT_HTTP": "8080",
    "GUARD_PORT": "tcp://10.96.0.11:8080",
    "GUARD_PORT_8080_TCP": "tcp://10.96.0.11:8080",
    "GUARD_PORT_8080_TCP_PROTO": "tcp",
    "GUARD_PORT_8080_TCP_PORT": "8080",
    "GUARD_PORT_8080_TCP_ADDR": "10.96.0.11",
    "GUARD_CRM_SERVICE_HOST": "10.96.0.12",
    "GUARD_CRM_SERVICE_PORT": "443",
    "GUARD_CRM_PORT": "tcp://10.96.0.12:443",
    "GUARD_CRM_PORT_443_TCP": "tcp://10.96.0.12:443",
}


def test_kubernetes_service_links_do_not_stop_the_start(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name, value in _SERVICE_LINKS.items():
        monkeypatch.setenv(name, value)
    with caplog.at_level("WARNING", logger="guard.proxy.settings"):
        settings = load_settings()
    assert settings.port == 8080  # GUARD_PORT=tcp://… is not read as the port
    assert "GUARD_PORT holds a Kubernetes service link" in caplog.text and "10.96" not in caplog.text
    assert load_settings(port=9000).port == 9000


def test_a_real_port_beside_service_links_is_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARD_SERVICE_HOST", "10.96.0.11")
    monkeypatch.setenv("GUARD_PORT", "9090")
    assert load_settings().port == 9090


@pytest.mark.parametrize("value", ["tcp://10.96.0.11", "http://10.96.0.11:8080", "tcp://a:8080/x"])
def test_only_the_service_link_shape_is_dropped(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    assert "GUARD_PORT: port: Input should be a valid integer" in _error(monkeypatch, {"GUARD_PORT": value})
